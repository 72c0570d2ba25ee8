using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Dpuring
    {
        /// <summary>struct dpuring_io (native/dpuring.c): one write of a frame buffer to an fd. 24 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct dpuring_io
        {
            public int fd;
            public uint length;
            public ulong buffer;
            public ulong user_data;
        }

        /// <summary>struct dpuring_completion: an operation's user data, result (bytes or -errno) and CQE flags. 16 bytes.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct dpuring_completion
        {
            public ulong user_data;
            public int result;
            public uint flags;
        }

        /// <summary>IORING_CQE_F_BUFFER: the completion used pool buffer <c>flags &gt;&gt; IORING_CQE_BUFFER_SHIFT</c>.</summary>
        internal const uint IORING_CQE_F_BUFFER = 1 << 0;

        /// <summary>IORING_CQE_F_MORE: the multishot read that produced this completion is still armed.</summary>
        internal const uint IORING_CQE_F_MORE = 1 << 1;

        internal const int IORING_CQE_BUFFER_SHIFT = 16;

        /// <summary>The shim's opaque ring (struct dpuring *).</summary>
        internal struct dpuring
        {
        }
    }
}
