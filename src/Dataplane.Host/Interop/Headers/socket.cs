namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sys/socket.h>, <asm-generic/socket.h> (x86_64 values; arm64 is the same for these)
        internal const int AF_UNSPEC = 0;
        internal const int AF_INET = 2;
        internal const int AF_BRIDGE = 7;
        internal const int AF_INET6 = 10;
        internal const int AF_NETLINK = 16;
        internal const int AF_PACKET = 17;

        internal const int SOCK_STREAM = 1;
        internal const int SOCK_DGRAM = 2;
        internal const int SOCK_RAW = 3;
        internal const int SOCK_NONBLOCK = 0x800;    // == O_NONBLOCK
        internal const int SOCK_CLOEXEC = 0x80000;   // == O_CLOEXEC

        internal const int SOL_SOCKET = 1;
        internal const int SO_SNDBUF = 7;
        internal const int SO_PEERCRED = 17;
        internal const int SO_RCVBUF = 8;
        internal const int SO_RCVTIMEO = 20;         // SO_RCVTIMEO_OLD: struct timeval with 64-bit fields on LP64
        internal const int SO_SNDTIMEO = 21;
        internal const int SO_SNDBUFFORCE = 32;
        internal const int SO_RCVBUFFORCE = 33;

        internal const int SOL_PACKET = 263;
        internal const int SOL_NETLINK = 270;

        internal const int MSG_PEEK = 0x2;
        internal const int MSG_TRUNC = 0x20;
        internal const int MSG_DONTWAIT = 0x40;

        // struct ucred (SO_PEERCRED): the peer's pid, uid and gid as of connect(); 12 bytes.
        internal struct ucred
        {
            public int pid;
            public uint uid;
            public uint gid;
        }

        // struct timeval on LP64 (x86_64, arm64): 16 bytes.
        internal struct timeval
        {
            public long tv_sec;
            public long tv_usec;
        }
    }
}
