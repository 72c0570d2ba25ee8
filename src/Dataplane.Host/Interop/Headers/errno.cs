namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <asm-generic/errno-base.h>, <asm-generic/errno.h> (same values on x86_64 and arm64)
        internal const int EPERM = 1;
        internal const int ENOENT = 2;
        internal const int EINTR = 4;
        internal const int EIO = 5;
        internal const int EBADF = 9;
        internal const int EAGAIN = 11;
        internal const int EWOULDBLOCK = EAGAIN;
        internal const int ENOMEM = 12;
        internal const int EACCES = 13;
        internal const int EFAULT = 14;
        internal const int EBUSY = 16;
        internal const int EEXIST = 17;
        internal const int ENODEV = 19;
        internal const int ENOTDIR = 20;
        internal const int EINVAL = 22;
        internal const int ENOSPC = 28;
        internal const int ERANGE = 34;
        internal const int EBADFD = 77;
        internal const int EMSGSIZE = 90;
        internal const int EPROTONOSUPPORT = 93;
        internal const int EOPNOTSUPP = 95;
        internal const int EADDRINUSE = 98;
        internal const int EADDRNOTAVAIL = 99;
        internal const int ENETDOWN = 100;
        internal const int ENETUNREACH = 101;
        internal const int ENOBUFS = 105;
        internal const int ECANCELED = 125;
        internal const int ETIMEDOUT = 110;
        internal const int EHOSTUNREACH = 113;
    }
}
