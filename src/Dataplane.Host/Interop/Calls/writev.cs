using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // ssize_t writev(int fd, const struct iovec *iov, int iovcnt);
        [LibraryImport(Libraries.Libc, EntryPoint = "writev", SetLastError = true)]
        internal static unsafe partial nint writev(SafeHandle fd, iovec* iov, int iovcnt);
    }
}
