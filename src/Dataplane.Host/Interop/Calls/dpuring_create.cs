using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Dpuring
    {
        // int dpuring_create(uint32_t entries, struct dpuring **out);  0 or -errno; the calling thread becomes
        // the ring's only submitter.
        [LibraryImport(Libraries.Dpuring, EntryPoint = "dpuring_create")]
        internal static unsafe partial int dpuring_create(uint entries, dpuring** ring);
    }
}
