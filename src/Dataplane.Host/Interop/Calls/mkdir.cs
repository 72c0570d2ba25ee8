using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int mkdir(const char *pathname, mode_t mode);
        [LibraryImport(Libraries.Libc, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int mkdir(string pathname, uint mode);
    }
}
