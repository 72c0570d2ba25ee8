namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sys/mount.h> / <linux/mount.h>
        internal const nuint MS_BIND = 4096;
        internal const nuint MS_REC = 16384;
        internal const nuint MS_PRIVATE = 1 << 18;
        internal const nuint MS_SLAVE = 1 << 19;
        internal const nuint MS_SHARED = 1 << 20;

        internal const int MNT_FORCE = 1;
        internal const int MNT_DETACH = 2;
    }
}
