using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int setns(int fd, int nstype); moves the calling thread (not the process) into the namespace.
        [LibraryImport(Libraries.Libc, EntryPoint = "setns", SetLastError = true)]
        internal static partial int setns(SafeHandle fd, int nstype);
    }
}
