using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen);
        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        internal static unsafe partial int setsockopt(SafeHandle sockfd, int level, int optname, void* optval, uint optlen);
    }
}
