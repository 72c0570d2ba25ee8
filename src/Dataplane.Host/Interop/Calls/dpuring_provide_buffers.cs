using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Dpuring
    {
        // int dpuring_provide_buffers(struct dpuring *ring, uint64_t base, uint32_t stride, uint32_t length, uint32_t count);
        // Registers the receive pool: buffer i at base + i * stride, length bytes. 0 or -errno.
        [LibraryImport(Libraries.Dpuring, EntryPoint = "dpuring_provide_buffers")]
        internal static unsafe partial int dpuring_provide_buffers(dpuring* ring, ulong @base, uint stride, uint length, uint count);
    }
}
