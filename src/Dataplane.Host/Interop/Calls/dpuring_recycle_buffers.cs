using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Dpuring
    {
        // int dpuring_recycle_buffers(struct dpuring *ring, const uint16_t *ids, int32_t count);
        // Gives pool buffers back to the kernel. count or -errno.
        [LibraryImport(Libraries.Dpuring, EntryPoint = "dpuring_recycle_buffers")]
        internal static unsafe partial int dpuring_recycle_buffers(dpuring* ring, ushort* ids, int count);
    }
}
