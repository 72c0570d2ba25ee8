using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // int ioctl(int fd, unsigned long request, ...); variadic in C, but on x86_64 and arm64 Linux a
        // variadic integer or pointer argument travels in the same register as a fixed one, so two fixed
        // overloads are exact: one for requests taking a pointer, one for requests taking a value
        // (TUNSETOFFLOAD takes its flags by value).
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static unsafe partial int ioctl(SafeHandle fd, nuint request, void* argp);

        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int ioctl(SafeHandle fd, nuint request, nuint arg);
    }
}
