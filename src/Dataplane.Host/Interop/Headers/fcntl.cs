namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <fcntl.h> / <asm-generic/fcntl.h> (x86_64 and arm64 agree on these)
        internal const int O_RDONLY = 0x0;
        internal const int O_WRONLY = 0x1;
        internal const int O_RDWR = 0x2;
        internal const int O_CREAT = 0x40;
        internal const int O_EXCL = 0x80;
        internal const int O_NONBLOCK = 0x800;
        internal const int O_CLOEXEC = 0x80000;

        internal const int F_GETFD = 1;
        internal const int F_SETFD = 2;
        internal const int F_GETFL = 3;
        internal const int F_SETFL = 4;
        internal const int FD_CLOEXEC = 1;

        // <sys/stat.h> mode bits
        internal const uint S_IRWXU = 0x1C0; // 0700
        internal const uint S_IRGRP = 0x20;  // 0040
        internal const uint S_IXGRP = 0x8;   // 0010
        internal const uint S_IROTH = 0x4;   // 0004
        internal const uint S_IXOTH = 0x1;   // 0001
    }
}
