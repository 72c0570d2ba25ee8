namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sys/epoll.h>
        internal const int EPOLL_CLOEXEC = 0x80000;

        internal const int EPOLL_CTL_ADD = 1;
        internal const int EPOLL_CTL_DEL = 2;
        internal const int EPOLL_CTL_MOD = 3;

        internal const uint EPOLLIN = 0x001;
        internal const uint EPOLLPRI = 0x002;
        internal const uint EPOLLOUT = 0x004;
        internal const uint EPOLLERR = 0x008;
        internal const uint EPOLLHUP = 0x010;
        internal const uint EPOLLRDHUP = 0x2000;
        internal const uint EPOLLEXCLUSIVE = 1u << 28;
        internal const uint EPOLLWAKEUP = 1u << 29;
        internal const uint EPOLLONESHOT = 1u << 30;
        internal const uint EPOLLET = 1u << 31;

        // <sys/eventfd.h>
        internal const int EFD_SEMAPHORE = 0x1;
        internal const int EFD_NONBLOCK = 0x800;
        internal const int EFD_CLOEXEC = 0x80000;
    }
}
