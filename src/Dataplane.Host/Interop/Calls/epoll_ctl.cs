using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
        internal static unsafe partial int epoll_ctl(SafeHandle epfd, int op, SafeHandle fd, epoll_event* @event);
    }
}
