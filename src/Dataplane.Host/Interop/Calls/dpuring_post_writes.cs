using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Dpuring
    {
        // int dpuring_post_writes(struct dpuring *ring, const struct dpuring_io *ios, int32_t count);
        // How many were queued, or -errno.
        [LibraryImport(Libraries.Dpuring, EntryPoint = "dpuring_post_writes")]
        internal static unsafe partial int dpuring_post_writes(dpuring* ring, dpuring_io* ios, int count);
    }
}
