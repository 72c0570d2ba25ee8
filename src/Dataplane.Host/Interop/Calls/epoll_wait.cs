using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_wait", SetLastError = true)]
        internal static unsafe partial int epoll_wait(SafeHandle epfd, epoll_event* events, int maxevents, int timeout);
    }
}
