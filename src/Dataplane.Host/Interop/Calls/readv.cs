using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // ssize_t readv(int fd, const struct iovec *iov, int iovcnt);
        [LibraryImport(Libraries.Libc, EntryPoint = "readv", SetLastError = true)]
        internal static unsafe partial nint readv(SafeHandle fd, iovec* iov, int iovcnt);
    }
}
