using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <net/if.h> / <linux/if.h>
        internal const int IFNAMSIZ = 16; // including the terminating NUL: names are at most 15 bytes

        // net_device_flags (ifi_flags)
        internal const uint IFF_UP = 0x1;
        internal const uint IFF_BROADCAST = 0x2;
        internal const uint IFF_LOOPBACK = 0x8;
        internal const uint IFF_POINTOPOINT = 0x10;
        internal const uint IFF_RUNNING = 0x40;
        internal const uint IFF_NOARP = 0x80;
        internal const uint IFF_PROMISC = 0x100;
        internal const uint IFF_MULTICAST = 0x1000;
        internal const uint IFF_LOWER_UP = 0x10000;

        /// <summary>
        /// struct ifreq: 16-byte name then a 24-byte union (its largest member is struct ifmap, 24 bytes on
        /// LP64), 40 bytes in all on x86_64 and arm64. Only the union members we use are mapped.
        /// </summary>
        [StructLayout(LayoutKind.Explicit, Size = 40)]
        internal unsafe struct ifreq
        {
            [FieldOffset(0)] public fixed byte ifr_name[IFNAMSIZ];
            [FieldOffset(16)] public short ifr_flags;
            [FieldOffset(16)] public int ifr_ifindex;
            [FieldOffset(16)] public int ifr_mtu;
        }
    }
}
