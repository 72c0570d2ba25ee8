using System.Runtime.InteropServices;

namespace Dataplane.Config;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int AT_FDCWD = -100;
        internal const int AT_SYMLINK_NOFOLLOW = 0x100;
        internal const uint STATX_TYPE = 0x1;

        // struct statx has the same layout on every architecture (include/uapi/linux/stat.h), unlike struct stat.
        internal const int statx_size = 256;
        internal const int stx_mode_offset = 28;

        // int statx(int dirfd, const char *pathname, int flags, unsigned int mask, struct statx *statxbuf);
        [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static unsafe partial int statx(int dirfd, string pathname, int flags, uint mask, byte* statxbuf);
    }
}
