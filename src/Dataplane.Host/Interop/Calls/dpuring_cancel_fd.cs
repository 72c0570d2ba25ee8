using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Dpuring
    {
        // int dpuring_cancel_fd(struct dpuring *ring, int32_t fd, uint64_t user_data);
        // Cancels every request on fd (its multishot read); 0 when queued, or -errno.
        [LibraryImport(Libraries.Dpuring, EntryPoint = "dpuring_cancel_fd")]
        internal static unsafe partial int dpuring_cancel_fd(dpuring* ring, int fd, ulong user_data);
    }
}
