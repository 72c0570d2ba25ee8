using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);
        [LibraryImport(Libraries.Libc, EntryPoint = "getsockopt", SetLastError = true)]
        internal static unsafe partial int getsockopt(SafeHandle sockfd, int level, int optname, void* optval, uint* optlen);
    }
}
