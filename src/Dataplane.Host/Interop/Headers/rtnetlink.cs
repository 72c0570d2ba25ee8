using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <linux/rtnetlink.h>
        internal const ushort RTM_NEWLINK = 16;
        internal const ushort RTM_DELLINK = 17;
        internal const ushort RTM_GETLINK = 18;
        internal const ushort RTM_SETLINK = 19;
        internal const ushort RTM_NEWADDR = 20;
        internal const ushort RTM_DELADDR = 21;
        internal const ushort RTM_GETADDR = 22;
        internal const ushort RTM_NEWROUTE = 24;
        internal const ushort RTM_DELROUTE = 25;
        internal const ushort RTM_GETROUTE = 26;
        internal const ushort RTM_NEWNEIGH = 28;
        internal const ushort RTM_GETNEIGH = 30;

        /// <summary>struct rtattr: 4 bytes, followed by the payload, padded to RTA_ALIGNTO.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct rtattr
        {
            public ushort rta_len;
            public ushort rta_type;
        }

        internal const int RTA_ALIGNTO = 4;

        /// <summary>struct ifinfomsg: 16 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ifinfomsg
        {
            public byte ifi_family;
            public byte __ifi_pad;
            public ushort ifi_type;
            public int ifi_index;
            public uint ifi_flags;
            public uint ifi_change;
        }

        /// <summary>struct rtmsg: 12 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct rtmsg
        {
            public byte rtm_family;
            public byte rtm_dst_len;
            public byte rtm_src_len;
            public byte rtm_tos;
            public byte rtm_table;
            public byte rtm_protocol;
            public byte rtm_scope;
            public byte rtm_type;
            public uint rtm_flags;
        }

        // enum rtattr_type_t
        internal const ushort RTA_UNSPEC = 0;
        internal const ushort RTA_DST = 1;
        internal const ushort RTA_SRC = 2;
        internal const ushort RTA_IIF = 3;
        internal const ushort RTA_OIF = 4;
        internal const ushort RTA_GATEWAY = 5;
        internal const ushort RTA_PRIORITY = 6;
        internal const ushort RTA_PREFSRC = 7;
        internal const ushort RTA_METRICS = 8;
        internal const ushort RTA_TABLE = 15;

        // rtm_type
        internal const byte RTN_UNSPEC = 0;
        internal const byte RTN_UNICAST = 1;
        internal const byte RTN_LOCAL = 2;

        // rtm_protocol
        internal const byte RTPROT_UNSPEC = 0;
        internal const byte RTPROT_KERNEL = 2;
        internal const byte RTPROT_BOOT = 3;    // what `ip route add` uses
        internal const byte RTPROT_STATIC = 4;

        // rtm_scope
        internal const byte RT_SCOPE_UNIVERSE = 0;
        internal const byte RT_SCOPE_LINK = 253;
        internal const byte RT_SCOPE_HOST = 254;
        internal const byte RT_SCOPE_NOWHERE = 255;

        // rtm_table
        internal const byte RT_TABLE_UNSPEC = 0;
        internal const byte RT_TABLE_MAIN = 254;

        // rtm_flags / rtnh_flags
        internal const uint RTNH_F_DEAD = 1;
        internal const uint RTNH_F_PERVASIVE = 2;
        internal const uint RTNH_F_ONLINK = 4;
    }
}
