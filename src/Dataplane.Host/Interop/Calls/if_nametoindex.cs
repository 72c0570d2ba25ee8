using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // unsigned int if_nametoindex(const char *ifname); 0 and errno (ENODEV) when absent. Resolved in the
        // calling thread's network namespace.
        [LibraryImport(Libraries.Libc, EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial uint if_nametoindex(string ifname);
    }
}
