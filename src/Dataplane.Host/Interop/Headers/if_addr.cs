using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <linux/if_addr.h>
        /// <summary>struct ifaddrmsg: 8 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ifaddrmsg
        {
            public byte ifa_family;
            public byte ifa_prefixlen;
            public byte ifa_flags;
            public byte ifa_scope;
            public uint ifa_index;
        }

        internal const ushort IFA_UNSPEC = 0;
        internal const ushort IFA_ADDRESS = 1;
        internal const ushort IFA_LOCAL = 2;
        internal const ushort IFA_LABEL = 3;
        internal const ushort IFA_BROADCAST = 4;
        internal const ushort IFA_ANYCAST = 5;
        internal const ushort IFA_CACHEINFO = 6;
        internal const ushort IFA_MULTICAST = 7;
        internal const ushort IFA_FLAGS = 8;     // u32 flags, superset of ifa_flags

        internal const uint IFA_F_SECONDARY = 0x01;
        internal const uint IFA_F_NODAD = 0x02;
        internal const uint IFA_F_OPTIMISTIC = 0x04;
        internal const uint IFA_F_DADFAILED = 0x08;
        internal const uint IFA_F_HOMEADDRESS = 0x10;
        internal const uint IFA_F_DEPRECATED = 0x20;
        internal const uint IFA_F_TENTATIVE = 0x40;
        internal const uint IFA_F_PERMANENT = 0x80;
        internal const uint IFA_F_NOPREFIXROUTE = 0x200;
    }
}
