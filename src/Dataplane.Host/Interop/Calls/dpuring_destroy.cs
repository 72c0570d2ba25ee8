using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Dpuring
    {
        // void dpuring_destroy(struct dpuring *ring);
        [LibraryImport(Libraries.Dpuring, EntryPoint = "dpuring_destroy")]
        internal static unsafe partial void dpuring_destroy(dpuring* ring);
    }
}
