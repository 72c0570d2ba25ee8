using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int chown(const char *pathname, uid_t owner, gid_t group);   (uint.MaxValue, i.e. -1, leaves one unchanged)
        [LibraryImport(Libraries.Libc, EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int chown(string pathname, uint owner, uint group);
    }
}
