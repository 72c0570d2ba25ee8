using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int fcntl(int fd, int cmd, ... /* arg */); only the int-argument commands (F_GETFL/F_SETFL) are used.
        [LibraryImport(Libraries.Libc, EntryPoint = "fcntl", SetLastError = true)]
        internal static partial int fcntl(SafeHandle fd, int cmd, int arg);
    }
}
