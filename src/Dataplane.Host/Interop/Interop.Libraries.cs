namespace Dataplane;

internal static partial class Interop
{
    internal static class Libraries
    {
        // The runtime maps "libc" to the C library's soname (libc.so.6 on glibc), the same spelling
        // dotnet/runtime's own Unix interop and Tmds.LibC rely on.
        internal const string Libc = "libc";

        // native/libdpuring.so, the io_uring shim (native/dpuring.c). The build copies it next to
        // Dataplane.Host.dll, the first place the runtime looks for "dpuring" (as libdpuring.so); the system
        // library path comes after. Io.Uring.UringLibrary checks that it loads before a worker relies on it.
        internal const string Dpuring = "dpuring";
    }
}
