using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Dpuring
    {
        // int dpuring_post_reads(struct dpuring *ring, const int32_t *fds, const uint64_t *user_data, int32_t count);
        // Arms a multishot read into the provided pool on each fd. How many were queued, or -errno.
        [LibraryImport(Libraries.Dpuring, EntryPoint = "dpuring_post_reads")]
        internal static unsafe partial int dpuring_post_reads(dpuring* ring, int* fds, ulong* user_data, int count);
    }
}
