using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // ssize_t recv(int sockfd, void *buf, size_t len, int flags);
        [LibraryImport(Libraries.Libc, EntryPoint = "recv", SetLastError = true)]
        internal static unsafe partial nint recv(SafeHandle sockfd, byte* buf, nuint len, int flags);
    }
}
