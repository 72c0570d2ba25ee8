using System.Runtime.InteropServices;

namespace Dataplane.Perf;

internal static partial class Interop
{
    // int kill(pid_t pid, int sig);
    [LibraryImport("libc", SetLastError = true)]
    internal static partial int kill(int pid, int sig);
}
