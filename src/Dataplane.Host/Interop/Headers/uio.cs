using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sys/uio.h>
        /// <summary>struct iovec: 16 bytes on LP64.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct iovec
        {
            public void* iov_base;
            public nuint iov_len;
        }
    }
}
