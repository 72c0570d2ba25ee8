namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <linux/if_ether.h>
        internal const int ETH_ALEN = 6;
        internal const int ETH_HLEN = 14;
        internal const ushort ETH_P_ALL = 0x0003;   // every protocol; host byte order here, htons() it for the socket
        internal const ushort ETH_P_IP = 0x0800;
        internal const ushort ETH_P_ARP = 0x0806;
        internal const ushort ETH_P_IPV6 = 0x86DD;

        // <linux/if_arp.h>
        internal const ushort ARPHRD_ETHER = 1;
    }
}
