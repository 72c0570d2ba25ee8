using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // pid_t gettid(void); glibc >= 2.30. Names this thread in /proc/self/task/<tid>/ns/net.
        [LibraryImport(Libraries.Libc, EntryPoint = "gettid")]
        internal static partial int gettid();
    }
}
