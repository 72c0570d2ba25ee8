using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // struct group *getgrnam(const char *name);   (static storage: not thread-safe, call once at start)
        [LibraryImport(Libraries.Libc, EntryPoint = "getgrnam", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static unsafe partial group* getgrnam(string name);
    }
}
