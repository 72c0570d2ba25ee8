using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <linux/netlink.h>
        internal const int NETLINK_ROUTE = 0;

        // SOL_NETLINK options
        internal const int NETLINK_ADD_MEMBERSHIP = 1;
        internal const int NETLINK_CAP_ACK = 10;        // ACKs do not echo the request payload back
        internal const int NETLINK_EXT_ACK = 11;        // errors carry a human message (NLMSGERR_ATTR_MSG)
        internal const int NETLINK_GET_STRICT_CHK = 12;

        /// <summary>struct sockaddr_nl: 12 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct sockaddr_nl
        {
            public ushort nl_family;
            public ushort nl_pad;
            public uint nl_pid;
            public uint nl_groups;
        }

        /// <summary>struct nlmsghdr: 16 bytes, host byte order.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct nlmsghdr
        {
            public uint nlmsg_len;
            public ushort nlmsg_type;
            public ushort nlmsg_flags;
            public uint nlmsg_seq;
            public uint nlmsg_pid;
        }

        /// <summary>struct nlmsgerr: 20 bytes; error is 0 for an ACK, a negative errno otherwise.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct nlmsgerr
        {
            public int error;
            public nlmsghdr msg;
        }

        /// <summary>struct nlattr (same layout as struct rtattr): 4 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct nlattr
        {
            public ushort nla_len;
            public ushort nla_type;
        }

        internal const int NLMSG_ALIGNTO = 4;
        internal const int NLA_ALIGNTO = 4;
        internal const ushort NLA_F_NESTED = 1 << 15;
        internal const ushort NLA_TYPE_MASK = unchecked((ushort)~(NLA_F_NESTED | (1 << 14)));

        // nlmsg_flags
        internal const ushort NLM_F_REQUEST = 0x01;
        internal const ushort NLM_F_MULTI = 0x02;
        internal const ushort NLM_F_ACK = 0x04;
        internal const ushort NLM_F_ECHO = 0x08;
        internal const ushort NLM_F_DUMP_INTR = 0x10;
        internal const ushort NLM_F_DUMP_FILTERED = 0x20;
        // GET requests
        internal const ushort NLM_F_ROOT = 0x100;
        internal const ushort NLM_F_MATCH = 0x200;
        internal const ushort NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
        // NEW requests
        internal const ushort NLM_F_REPLACE = 0x100;
        internal const ushort NLM_F_EXCL = 0x200;
        internal const ushort NLM_F_CREATE = 0x400;
        internal const ushort NLM_F_APPEND = 0x800;
        // ACK (NLMSG_ERROR) messages
        internal const ushort NLM_F_CAPPED = 0x100;     // request payload not echoed
        internal const ushort NLM_F_ACK_TLVS = 0x200;   // extended ACK attributes follow

        // nlmsg_type control messages
        internal const ushort NLMSG_NOOP = 0x1;
        internal const ushort NLMSG_ERROR = 0x2;
        internal const ushort NLMSG_DONE = 0x3;
        internal const ushort NLMSG_OVERRUN = 0x4;

        // enum nlmsgerr_attrs
        internal const ushort NLMSGERR_ATTR_MSG = 1;
        internal const ushort NLMSGERR_ATTR_OFFS = 2;
        internal const ushort NLMSGERR_ATTR_COOKIE = 3;
    }
}
