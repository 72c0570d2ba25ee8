using System.Runtime.InteropServices;

namespace Dataplane.Io.Uring;

/// <summary>One reaped completion, laid out as struct dpuring_completion (native/dpuring.c).</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct UringCompletion
{
    /// <summary>What the operation was queued with.</summary>
    public readonly ulong UserData;

    /// <summary>Bytes read or written, or a negative errno.</summary>
    public readonly int Result;

    /// <summary>The CQE flags verbatim.</summary>
    public readonly uint Flags;

    /// <summary>A read that filled pool buffer <see cref="BufferId"/> (which goes back with <see cref="UringRing.Recycle"/>).</summary>
    public bool HasBuffer => (Flags & Interop.Dpuring.IORING_CQE_F_BUFFER) != 0;

    public int BufferId => (int)(Flags >> Interop.Dpuring.IORING_CQE_BUFFER_SHIFT);

    /// <summary>The multishot read is still armed; without it the fd needs <see cref="UringRing.QueueRead"/> again.</summary>
    public bool More => (Flags & Interop.Dpuring.IORING_CQE_F_MORE) != 0;
}
