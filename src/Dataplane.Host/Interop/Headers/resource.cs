namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sys/resource.h>
        internal const int RLIMIT_NOFILE = 7;

        // struct rlimit on LP64: rlim_t is unsigned long.
        internal struct rlimit
        {
            public ulong rlim_cur;
            public ulong rlim_max;
        }
    }
}
