using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int eventfd(unsigned int initval, int flags);
        // Returns the raw int: a SafeHandle return would be read from the whole 64-bit register, whose upper half
        // is undefined for a C int, so -1 could come back looking like a valid descriptor. Callers wrap it.
        [LibraryImport(Libraries.Libc, EntryPoint = "eventfd", SetLastError = true)]
        internal static partial int eventfd(uint initval, int flags);
    }
}
