using System.Numerics;

namespace Dataplane.Io.Uring;

/// <summary>
/// An io_uring (native/libdpuring.so) driven in batches. Receiving: a pool of frame buffers is handed over once
/// (<see cref="ProvideBuffers"/>) and one multishot read is armed per fd (<see cref="QueueRead"/>); each frame
/// completes in a pool buffer the kernel picked, which goes back with <see cref="Recycle"/>. Sending:
/// <see cref="QueueWrite"/> per frame. Queue and recycle calls only fill preallocated arrays;
/// <see cref="SubmitAndReap"/> hands them over and collects completions in a few native calls and one system
/// call. Owned by the thread that created it (the ring is set up single-issuer). Buffers must be pinned and
/// stay valid until their completion is reaped or the ring is disposed. Nothing is allocated after construction.
/// </summary>
public sealed unsafe class UringRing : IDisposable
{
    private readonly int[] _readFds;
    private readonly ulong[] _readData;
    private readonly Interop.Dpuring.dpuring_io[] _writes;
    private readonly ushort[] _recycled;
    private Interop.Dpuring.dpuring* _ring;
    private int _readCount;
    private int _writeCount;
    private int _recycledCount;

    private UringRing(Interop.Dpuring.dpuring* ring, int fds, int writes, int buffers)
    {
        _ring = ring;
        _readFds = GC.AllocateArray<int>(fds, pinned: true);
        _readData = GC.AllocateArray<ulong>(fds, pinned: true);
        _writes = GC.AllocateArray<Interop.Dpuring.dpuring_io>(writes, pinned: true);
        _recycled = GC.AllocateArray<ushort>(buffers, pinned: true);
    }

    /// <summary>
    /// Sets up a ring with room for <paramref name="entries"/> submissions at a time (rounded up to a power of
    /// two, at most 32768), reads to arm on up to <paramref name="fds"/> fds, <paramref name="writes"/> writes
    /// queued before they are handed over (more are handed over early) and a pool of up to
    /// <paramref name="buffers"/>. Returns 0 or a negative errno (-ENOSYS without io_uring, -EPERM when
    /// kernel.io_uring_disabled forbids it). The caller checks <see cref="UringLibrary.IsAvailable"/> first.
    /// </summary>
    public static int Create(int entries, int fds, int writes, int buffers, out UringRing? ring)
    {
        ring = null;
        uint rounded = BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(entries, 8, 32768));
        Interop.Dpuring.dpuring* handle;
        int result = Interop.Dpuring.dpuring_create(rounded, &handle);
        if (result < 0)
        {
            return result;
        }

        ring = new UringRing(handle, Math.Max(fds, 1), Math.Max(writes, 16), Math.Max(buffers, 1));
        return 0;
    }

    /// <summary>
    /// Registers the receive pool: <paramref name="count"/> buffers of <paramref name="length"/> bytes, buffer i
    /// at <paramref name="first"/> + i * <paramref name="stride"/>, all free. Once, before the first read. 0 or -errno.
    /// </summary>
    public int ProvideBuffers(byte* first, int stride, int length, int count) =>
        Interop.Dpuring.dpuring_provide_buffers(_ring, (ulong)first, (uint)stride, (uint)length, (uint)count);

    /// <summary>
    /// Cancels the read armed on <paramref name="fd"/> (its port went away). Reads queued before it reach the kernel
    /// first, so none outlives the cancel. The read completes with -ECANCELED, the cancel with <paramref name="userData"/>.
    /// </summary>
    public int CancelReads(int fd, ulong userData)
    {
        FlushReads();
        return Interop.Dpuring.dpuring_cancel_fd(_ring, fd, userData);
    }

    /// <summary>
    /// Arms a multishot read on <paramref name="fd"/>; every frame it reads completes with <paramref name="userData"/>.
    /// False only when the queue is full and the kernel takes none of it.
    /// </summary>
    public bool QueueRead(int fd, ulong userData)
    {
        if (_readCount == _readFds.Length)
        {
            FlushReads();
            if (_readCount == _readFds.Length)
            {
                return false;
            }
        }

        _readFds[_readCount] = fd;
        _readData[_readCount++] = userData;
        return true;
    }

    /// <summary>
    /// Queues a write of <paramref name="length"/> bytes at <paramref name="buffer"/> to <paramref name="fd"/>;
    /// writes run in queue order. False only when the queue is full and the kernel takes none of it.
    /// </summary>
    public bool QueueWrite(int fd, byte* buffer, int length, ulong userData)
    {
        if (_writeCount == _writes.Length)
        {
            FlushWrites();
            if (_writeCount == _writes.Length)
            {
                return false;
            }
        }

        _writes[_writeCount++] = new Interop.Dpuring.dpuring_io { fd = fd, buffer = (ulong)buffer, length = (uint)length, user_data = userData };
        return true;
    }

    /// <summary>Gives pool buffer <paramref name="id"/> back (handed over with the next <see cref="SubmitAndReap"/>).</summary>
    public void Recycle(int id)
    {
        if (_recycledCount == _recycled.Length)
        {
            FlushRecycled();
        }

        _recycled[_recycledCount++] = (ushort)id;
    }

    /// <summary>
    /// Returns recycled buffers, submits what is queued (writes before reads) and reaps up to
    /// <paramref name="completions"/>.Length completions. With <paramref name="waitNanoseconds"/> &gt; 0 it sleeps
    /// until one completes or the time is up. Returns the number reaped (0 on timeout), or a negative errno.
    /// </summary>
    public int SubmitAndReap(long waitNanoseconds, Span<UringCompletion> completions)
    {
        FlushRecycled();
        FlushWrites();
        FlushReads();
        fixed (UringCompletion* c = completions)
        {
            return Interop.Dpuring.dpuring_submit_and_reap(_ring, waitNanoseconds, (Interop.Dpuring.dpuring_completion*)c, completions.Length);
        }
    }

    private void FlushRecycled()
    {
        fixed (ushort* ids = _recycled)
        {
            _ = Interop.Dpuring.dpuring_recycle_buffers(_ring, ids, _recycledCount);
        }

        _recycledCount = 0;
    }

    private void FlushReads()
    {
        fixed (int* fds = _readFds)
        fixed (ulong* data = _readData)
        {
            int count = _readCount;
            int posted = Math.Max(Interop.Dpuring.dpuring_post_reads(_ring, fds, data, count), 0);
            // What the kernel did not take (its submission failed) stays queued for the next submit.
            _readCount = Keep(_readFds, count, posted);
            _ = Keep(_readData, count, posted);
        }
    }

    private void FlushWrites()
    {
        fixed (Interop.Dpuring.dpuring_io* ios = _writes)
        {
            int posted = Math.Max(Interop.Dpuring.dpuring_post_writes(_ring, ios, _writeCount), 0);
            _writeCount = Keep(_writes, _writeCount, posted);
        }
    }

    /// <summary>Moves the <paramref name="count"/> - <paramref name="posted"/> entries not handed over to the front; returns how many.</summary>
    private static int Keep<T>(T[] queue, int count, int posted)
    {
        int left = count - posted;
        if (left > 0 && posted > 0)
        {
            queue.AsSpan(posted, left).CopyTo(queue);
        }

        return left;
    }

    /// <summary>Closes the ring; the kernel cancels the armed reads. Call it on the owning thread, before freeing buffers.</summary>
    public void Dispose()
    {
        if (_ring is not null)
        {
            Interop.Dpuring.dpuring_destroy(_ring);
            _ring = null;
        }
    }
}
