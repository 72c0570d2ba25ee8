namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <linux/veth.h>: inside IFLA_INFO_DATA of kind "veth", VETH_INFO_PEER holds a struct ifinfomsg
        // followed by the peer's own IFLA_* attributes (name, netns, ...).
        internal const ushort VETH_INFO_UNSPEC = 0;
        internal const ushort VETH_INFO_PEER = 1;
    }
}
