using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
        [LibraryImport(Libraries.Libc, EntryPoint = "bind", SetLastError = true)]
        internal static unsafe partial int bind(SafeHandle sockfd, void* addr, uint addrlen);
    }
}
