namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <grp.h> struct group on LP64 (x86_64, arm64): 32 bytes.
        internal unsafe struct group
        {
            public byte* gr_name;
            public byte* gr_passwd;
            public uint gr_gid;
            public byte** gr_mem;
        }
    }
}
