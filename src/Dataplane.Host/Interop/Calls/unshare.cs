using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int unshare(int flags); with CLONE_NEWNET only the calling thread gets the new namespace.
        [LibraryImport(Libraries.Libc, EntryPoint = "unshare", SetLastError = true)]
        internal static partial int unshare(int flags);
    }
}
