namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <linux/if_tun.h>. Request numbers are uint, not nuint: a const nuint read from another assembly's
        // metadata comes back sign-extended (0x800454CF became 0xFFFFFFFF800454CF in the tests).
        // ioctl numbers are _IOW/_IOR('T', nr, int) = dir << 30 | 4 << 16 | 'T' << 8 | nr.
        internal const uint TUNSETNOCSUM = 0x400454C8;     // _IOW('T', 200, int)
        internal const uint TUNSETIFF = 0x400454CA;        // _IOW('T', 202, int), arg: struct ifreq*
        internal const uint TUNSETPERSIST = 0x400454CB;    // _IOW('T', 203, int), arg: value
        internal const uint TUNGETFEATURES = 0x800454CF;   // _IOR('T', 207, unsigned int), arg: unsigned int*
        internal const uint TUNSETOFFLOAD = 0x400454D0;    // _IOW('T', 208, unsigned int), arg: TUN_F_* by value
        internal const uint TUNGETIFF = 0x800454D2;        // _IOR('T', 210, unsigned int), arg: struct ifreq*
        internal const uint TUNGETVNETHDRSZ = 0x800454D7;  // _IOR('T', 215, int), arg: int*
        internal const uint TUNSETVNETHDRSZ = 0x400454D8;  // _IOW('T', 216, int), arg: int*

        // TUNSETIFF ifr_flags
        internal const short IFF_TUN = 0x0001;
        internal const short IFF_TAP = 0x0002;
        internal const short IFF_NAPI = 0x0010;
        internal const short IFF_NAPI_FRAGS = 0x0020;
        internal const short IFF_NO_CARRIER = 0x0040;
        internal const short IFF_MULTI_QUEUE = 0x0100;
        internal const short IFF_NO_PI = 0x1000;
        internal const short IFF_ONE_QUEUE = 0x2000;
        internal const short IFF_VNET_HDR = 0x4000;
        internal const short IFF_TUN_EXCL = unchecked((short)0x8000); // fail with EBUSY instead of attaching to an existing device

        // TUNSETOFFLOAD flags: what the kernel may hand us unfinished (partial checksum, GSO super-frames).
        internal const uint TUN_F_CSUM = 0x01;
        internal const uint TUN_F_TSO4 = 0x02;
        internal const uint TUN_F_TSO6 = 0x04;
        internal const uint TUN_F_TSO_ECN = 0x08;
        internal const uint TUN_F_UFO = 0x10;
        internal const uint TUN_F_USO4 = 0x20;
        internal const uint TUN_F_USO6 = 0x40;
    }
}
