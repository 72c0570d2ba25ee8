namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <linux/if_link.h>: link attributes (RTM_*LINK).
        internal const ushort IFLA_UNSPEC = 0;
        internal const ushort IFLA_ADDRESS = 1;
        internal const ushort IFLA_BROADCAST = 2;
        internal const ushort IFLA_IFNAME = 3;
        internal const ushort IFLA_MTU = 4;
        internal const ushort IFLA_LINK = 5;
        internal const ushort IFLA_QDISC = 6;
        internal const ushort IFLA_STATS = 7;
        internal const ushort IFLA_MASTER = 10;
        internal const ushort IFLA_TXQLEN = 13;
        internal const ushort IFLA_OPERSTATE = 16;
        internal const ushort IFLA_LINKMODE = 17;
        internal const ushort IFLA_LINKINFO = 18;
        internal const ushort IFLA_NET_NS_PID = 19;
        internal const ushort IFLA_IFALIAS = 20;
        internal const ushort IFLA_GROUP = 27;
        internal const ushort IFLA_NET_NS_FD = 28;
        internal const ushort IFLA_EXT_MASK = 29;
        internal const ushort IFLA_PROMISCUITY = 30;
        internal const ushort IFLA_CARRIER = 33;
        internal const ushort IFLA_LINK_NETNSID = 37;

        // IFLA_LINKINFO nested attributes
        internal const ushort IFLA_INFO_UNSPEC = 0;
        internal const ushort IFLA_INFO_KIND = 1;
        internal const ushort IFLA_INFO_DATA = 2;
        internal const ushort IFLA_INFO_XSTATS = 3;
        internal const ushort IFLA_INFO_SLAVE_KIND = 4;
        internal const ushort IFLA_INFO_SLAVE_DATA = 5;

        // IFLA_OPERSTATE values (RFC 2863)
        internal const byte IF_OPER_UNKNOWN = 0;
        internal const byte IF_OPER_DOWN = 2;
        internal const byte IF_OPER_UP = 6;
    }
}
