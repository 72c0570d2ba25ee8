namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sched.h> / <linux/sched.h>
        internal const int CLONE_NEWNET = 0x40000000;

        // <linux/nsfs.h>: ioctl(nsfd, NS_GET_NSTYPE) returns the CLONE_NEW* type of a namespace file
        // (Linux 4.11+). _IO(0xb7, 0x3).
        internal const uint NS_GET_NSTYPE = 0xb703;
    }
}
