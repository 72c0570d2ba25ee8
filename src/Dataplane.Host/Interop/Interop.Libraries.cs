namespace Dataplane;

internal static partial class Interop
{
    internal static class Libraries
    {
        // The runtime maps "libc" to the C library's soname (libc.so.6 on glibc), the same spelling
        // dotnet/runtime's own Unix interop and Tmds.LibC rely on.
        internal const string Libc = "libc";
    }
}
