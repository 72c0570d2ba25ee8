using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Io;
using Dataplane.Io.Uring;
using Dataplane.Pipeline;

namespace Dataplane.Daemon.Transports;

/// <summary>
/// <c>io: uring</c>: the worker's I/O on io_uring (native/libdpuring.so). The batch's slots are a receive pool
/// handed to the kernel once; each owned fd has one multishot read armed, so every frame lands in a free slot
/// without a system call of its own. Each <see cref="Wait"/> is one system call (<see cref="UringRing.SubmitAndReap"/>):
/// it submits the previous batch's writes, collects what was read (sleeping when idle, as epoll_wait does), and
/// the reads become the next batch. A slot goes back to the pool when its frame was dropped, or when every write
/// of it has completed (a flood writes one slot to several fds), never earlier: the kernel could otherwise read a
/// new frame over one still being sent. Created on the worker's thread (the ring is single-issuer). Nothing is
/// allocated per packet.
/// </summary>
public unsafe struct UringTransport : IWorkerTransport
{
    /// <summary>
    /// Set in the user data of writes. A read's user data is its port id and that port's generation (bits 16..47),
    /// so a completion of a removed pod's cancelled read is never taken for a new pod that got the same id.
    /// </summary>
    private const ulong WriteFlag = 1UL << 63;

    /// <summary>The user data of a cancel (a port removed): nothing to do when it completes.</summary>
    private const ulong CancelFlag = 1UL << 62;

    /// <summary>The wakeup's read: a port id no port has.</summary>
    private const ulong WakeupData = PortIds.Flood;

    private readonly UringRing _ring;
    private readonly UringCompletion[] _completions;
    private readonly PortDevice?[] _owned;
    private readonly uint[] _generations;
    private readonly int[] _fds;
    private readonly int[] _headers;
    private readonly int[] _slotWrites;
    private readonly int _poolSlots;
    private readonly CaptureSession?[] _captures;
    private readonly PortCounters[] _portCounters;
    private readonly WorkerWakeup _wakeup;
    private readonly WorkerIoCounters _counters;
    private readonly int _header;
    private int _reaped;
    private int _next;
    private bool _anyFrame;
    private string? _failure;

    private UringTransport(UringRing ring, PacketBatch batch, PortDevice?[] devices, CaptureSession?[] captures,
        PortCounters[] portCounters, WorkerWakeup wakeup, WorkerIoCounters counters, int header)
    {
        _ring = ring;
        // Never more completions than the batch takes reads: a reap cannot overflow the batch.
        _completions = new UringCompletion[batch.Capacity];
        // One slot per possible port id: pods added later fill them (PortAdded).
        _owned = new PortDevice?[devices.Length];
        _generations = new uint[devices.Length];
        _fds = [.. devices.Select(static d => d?.Fd.Value ?? -1)];
        _headers = [.. devices.Select(static d => d?.HeaderSize ?? 0)];
        // Origin slots (frames the graph makes, Graph.Poll) are counted too but never handed to the kernel's pool:
        // their frames are rewritten at most once a second, long after their writes completed.
        _slotWrites = new int[batch.SlotCount + PacketBatch.OriginSlots];
        _poolSlots = batch.SlotCount;
        _captures = captures;
        _portCounters = portCounters;
        _wakeup = wakeup;
        _counters = counters;
        _header = header;
    }

    /// <summary>
    /// Slots of an io_uring worker's pool: a batch's worth being processed or written plus a batch's worth for
    /// the kernel to read into meanwhile. When the pool runs dry a read pauses (-ENOBUFS) until slots return;
    /// the frames wait in the TAP's queue, nothing is lost.
    /// </summary>
    public static int PoolSlots(int batchSize) => 2 * batchSize;

    public readonly string? Failure => _failure;

    /// <summary>
    /// Sets up the ring, gives it <paramref name="batch"/>'s slots as the receive pool and arms a read on every
    /// owned fd and the wakeup. Null and why not when io_uring cannot start here (the worker falls back). Every
    /// port has the virtio-net header of <paramref name="header"/> bytes (the pool's buffers are shared by all fds;
    /// the daemon checks).
    /// </summary>
    public static string? TryCreate(PacketBatch batch, PortDevice?[] devices, IReadOnlyList<PortDevice> owned, int header, CaptureSession?[] captures,
        PortCounters[] portCounters, WorkerWakeup wakeup, WorkerIoCounters counters, out UringTransport transport)
    {
        transport = default;
        int slots = batch.SlotCount;
        // Enough submission entries for a batch's writes (floods take more; the shim submits early when full).
        int created = UringRing.Create(entries: 2 * batch.Capacity, fds: devices.Length + 1, writes: 2 * batch.Capacity, buffers: slots, out UringRing? ring);
        if (created < 0)
        {
            return $"io_uring setup: {Errno.Describe(-created)}";
        }

        byte* first = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(batch.ReceiveSpaceOfSlot(0, header)));
        int provided = ring!.ProvideBuffers(first, batch.SlotSize, batch.MaxFrameLength + header, slots);
        if (provided < 0)
        {
            ring.Dispose();
            return $"io_uring provided buffers: {Errno.Describe(-provided)}";
        }

        transport = new UringTransport(ring, batch, devices, captures, portCounters, wakeup, counters, header);
        foreach (PortDevice device in owned)
        {
            transport.PortAdded(device, owned: true);
        }

        ring.QueueRead(wakeup.Fd.Value, WakeupData);
        return null;
    }

    public int Wait(long timeoutNanoseconds)
    {
        int reaped = _ring.SubmitAndReap(timeoutNanoseconds, _completions);
        if (reaped < 0)
        {
            throw ErrnoException.FromErrno("io_uring submit", -reaped);
        }

        _reaped = reaped;
        _next = 0;
        return reaped;
    }

    public ReceiveStatus Receive(PacketBatch batch, long now)
    {
        bool received = false;
        for (; _next < _reaped; _next++)
        {
            if (batch.IsFull)
            {
                // Not with a completion array no longer than the batch; checked so the contract holds regardless.
                return ReceiveStatus.BatchFull;
            }

            ref readonly UringCompletion c = ref _completions[_next];
            if ((c.UserData & WriteFlag) != 0)
            {
                WriteCompleted(in c);
                continue;
            }

            if ((c.UserData & CancelFlag) != 0)
            {
                continue;
            }

            bool wakeup = c.UserData == WakeupData;
            PortDevice? device = wakeup ? null : _owned[(int)(c.UserData & 0xFFFF)];
            if (!wakeup && (device is null || (uint)(c.UserData >> 16) != _generations[device.Port]))
            {
                // A read of a port that went away (cancelled, or a frame it took before the cancel): not re-armed.
                if (c.HasBuffer)
                {
                    _ring.Recycle(c.BufferId);
                }

                continue;
            }

            if (!c.More)
            {
                // The multishot read ended (the pool ran dry, or an error): arm it again.
                _ring.QueueRead(wakeup ? _wakeup.Fd.Value : device!.Fd.Value, c.UserData);
            }

            if (c.Result <= 0 || !c.HasBuffer)
            {
                if (c.HasBuffer)
                {
                    _ring.Recycle(c.BufferId);
                }

                if (c.Result == -Errno.EINVAL && !_anyFrame)
                {
                    // Linux before 6.7 has no multishot read: the very first read says so.
                    _failure = "this kernel has no multishot read (Linux 6.7)";
                    return ReceiveStatus.Failed;
                }

                if (c.Result is not (-Errno.ENOBUFS or -Errno.EAGAIN or -Errno.EINTR or -Errno.ECANCELED))
                {
                    _counters.ReadErrors++;
                }

                continue;
            }

            _anyFrame = true;
            if (wakeup)
            {
                _ring.Recycle(c.BufferId);
                continue;
            }

            received = true;
            if (!ReceiveInSlot(batch, device!, c.BufferId, c.Result, now))
            {
                _ring.Recycle(c.BufferId);
            }
        }

        return received ? ReceiveStatus.Received : ReceiveStatus.Idle;
    }

    /// <summary>Adds a frame the kernel read into <paramref name="slot"/> to the batch; false if it is unusable.</summary>
    private readonly bool ReceiveInSlot(PacketBatch batch, PortDevice device, int slot, int length, long now)
    {
        if (length < _header)
        {
            _counters.ReadErrors++;
            return false;
        }

        ref PacketMeta meta = ref batch.CommitReceivedInSlot(slot, length - _header, device.Port, now);
        PortFrames.Received(ref meta, batch.ReceiveSpaceOfSlot(slot, _header), _header, _captures[device.Port], now);
        return true;
    }

    /// <summary>
    /// Queues the frame as an io_uring write. The user data carries the slot (to free it once written), the port
    /// and the frame length (to move a failed write from TX to TX errors).
    /// </summary>
    public readonly bool Send(ushort port, PacketBatch batch, ushort packet)
    {
        Span<byte> buffer = PortFrames.Outgoing(batch, packet, port, _headers[port], _captures[port]);
        int slot = batch.SlotOf(packet);
        ulong userData = WriteFlag | ((ulong)(uint)batch.Meta(packet).Length << 32) | ((ulong)port << 16) | (uint)slot;
        byte* start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(buffer));
        if (!_ring.QueueWrite(_fds[port], start, buffer.Length, userData))
        {
            return false;
        }

        _slotWrites[slot]++;
        return true;
    }

    /// <summary>Slots with nothing to write go straight back to the pool; the others when their last write completes.</summary>
    public readonly void Flushed(PacketBatch batch)
    {
        int count = batch.Count;
        for (int p = 0; p < count; p++)
        {
            int slot = batch.SlotOf(p);
            if (_slotWrites[slot] == 0 && slot < _poolSlots)
            {
                _ring.Recycle(slot);
            }
        }
    }

    /// <summary>A write finished: a failure moves its frame from TX to TX errors; the slot's last write frees it.</summary>
    private readonly void WriteCompleted(in UringCompletion c)
    {
        int slot = (int)(c.UserData & 0xFFFF);
        if (c.Result < 0)
        {
            ref PortCounters port = ref _portCounters[(int)((c.UserData >> 16) & 0xFFFF)];
            port.TxPackets--;
            port.TxBytes -= (long)((c.UserData >> 32) & 0x7FFF_FFFF);
            port.TxErrors++;
        }

        if (--_slotWrites[slot] == 0 && slot < _poolSlots)
        {
            _ring.Recycle(slot);
        }
    }

    public readonly void PortAdded(PortDevice device, bool owned)
    {
        _fds[device.Port] = device.Fd.Value;
        _headers[device.Port] = device.HeaderSize;
        if (owned)
        {
            _owned[device.Port] = device;
            _ring.QueueRead(device.Fd.Value, ((ulong)++_generations[device.Port] << 16) | device.Port);
        }
    }

    public readonly void PortRemoved(PortDevice device, bool owned)
    {
        _fds[device.Port] = -1;
        if (owned && _owned[device.Port] is not null)
        {
            _owned[device.Port] = null;
            // The ring holds the file while a read is armed: without the cancel the TAP would outlive its close.
            _ = _ring.CancelReads(device.Fd.Value, CancelFlag);
        }
    }

    /// <summary>Closes the ring; the kernel cancels the armed reads. On the worker's thread, before the batch goes.</summary>
    public readonly void Dispose() => _ring?.Dispose();
}
