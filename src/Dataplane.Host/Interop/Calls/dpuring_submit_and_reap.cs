using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Dpuring
    {
        // int dpuring_submit_and_reap(struct dpuring *ring, int64_t wait_nanoseconds,
        //                             struct dpuring_completion *out, int32_t max);
        // Completions reaped (0 on timeout), or -errno.
        [LibraryImport(Libraries.Dpuring, EntryPoint = "dpuring_submit_and_reap")]
        internal static unsafe partial int dpuring_submit_and_reap(dpuring* ring, long wait_nanoseconds, dpuring_completion* completions, int max);
    }
}
