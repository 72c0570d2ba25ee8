using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <linux/if_packet.h>
        /// <summary>struct sockaddr_ll: 20 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct sockaddr_ll
        {
            public ushort sll_family;
            public ushort sll_protocol;   // network byte order
            public int sll_ifindex;
            public ushort sll_hatype;
            public byte sll_pkttype;
            public byte sll_halen;
            public fixed byte sll_addr[8];
        }

        /// <summary>struct packet_mreq: 16 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct packet_mreq
        {
            public int mr_ifindex;
            public ushort mr_type;
            public ushort mr_alen;
            public fixed byte mr_address[8];
        }

        // sll_pkttype
        internal const byte PACKET_HOST = 0;
        internal const byte PACKET_BROADCAST = 1;
        internal const byte PACKET_MULTICAST = 2;
        internal const byte PACKET_OTHERHOST = 3;
        internal const byte PACKET_OUTGOING = 4;

        // SOL_PACKET options
        internal const int PACKET_ADD_MEMBERSHIP = 1;
        internal const int PACKET_DROP_MEMBERSHIP = 2;
        internal const int PACKET_AUXDATA = 8;
        internal const int PACKET_QDISC_BYPASS = 20;
        internal const int PACKET_VNET_HDR = 15;
        internal const int PACKET_IGNORE_OUTGOING = 23;

        // packet_mreq.mr_type
        internal const ushort PACKET_MR_MULTICAST = 0;
        internal const ushort PACKET_MR_PROMISC = 1;
        internal const ushort PACKET_MR_ALLMULTI = 2;
    }
}
