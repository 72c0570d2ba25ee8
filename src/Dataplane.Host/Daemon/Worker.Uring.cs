using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Config;
using Dataplane.Io;
using Dataplane.Io.Uring;
using Dataplane.Pipeline;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// <c>io: uring</c>: the worker loop on io_uring (native/libdpuring.so). The batch's slots are a receive pool
/// handed to the kernel once; each owned fd has one multishot read armed, so every frame lands in a free slot
/// without a system call of its own. Each loop is one system call (<see cref="UringRing.SubmitAndReap"/>): it
/// submits the previous batch's writes, collects what was read (sleeping when idle, as epoll_wait did), and the
/// reads become the next batch. A slot goes back to the pool when its frame was dropped, or when every write of
/// it has completed (a flood writes one slot to several fds), never earlier: the kernel could otherwise read a
/// new frame over one still being sent. Nothing is allocated per packet.
/// </summary>
public sealed partial class Worker
{
    /// <summary>Set in the user data of writes; reads carry the index of their fd in <see cref="_owned"/>.</summary>
    private const ulong WriteFlag = 1UL << 63;

    private const long IdleWaitNanoseconds = 250_000_000;

    private SafeFileDescriptor? _uringWakeup;

    /// <summary>
    /// Slots of an io_uring worker's pool: a batch's worth being processed or written plus a batch's worth for
    /// the kernel to read into meanwhile. When the pool runs dry a read pauses (-ENOBUFS) until slots return;
    /// the frames wait in the TAP's queue, nothing is lost.
    /// </summary>
    private static int UringSlots(int batchSize) => 2 * batchSize;

    /// <summary>Runs the io_uring loop until Stop; false if io_uring could not start, so the caller uses read/write.</summary>
    private unsafe bool RunUring()
    {
        int header = _owned.Length == 0 ? 0 : _owned[0].HeaderSize;
        int slots = Batch.SlotCount;
        int wakeup = Interop.Libc.eventfd(0, Interop.Libc.EFD_NONBLOCK | Interop.Libc.EFD_CLOEXEC);
        if (wakeup < 0)
        {
            return FallBack($"eventfd: {Errno.Describe(Interop.Libc.GetLastErrno())}");
        }

        _uringWakeup = new SafeFileDescriptor(wakeup, ownsHandle: true);
        if (_stopping)
        {
            return true;
        }

        // Enough submission entries for a batch's writes (floods take more; the shim submits early when full).
        int created = UringRing.Create(entries: 2 * Batch.Capacity, fds: _owned.Length + 1, writes: 2 * Batch.Capacity, buffers: slots, out UringRing? maybeRing);
        if (created < 0)
        {
            return FallBack($"io_uring setup: {Errno.Describe(-created)}");
        }

        using UringRing ring = maybeRing!;
        byte* first = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(Batch.ReceiveSpaceOfSlot(0, header)));
        int provided = ring.ProvideBuffers(first, Batch.SlotSize, Batch.MaxFrameLength + header, slots);
        if (provided < 0)
        {
            return FallBack($"io_uring provided buffers: {Errno.Describe(-provided)}");
        }

        for (int i = 0; i < _owned.Length; i++)
        {
            ring.QueueRead(_owned[i].Fd.Value, (ulong)i);
        }

        ring.QueueRead(wakeup, (ulong)_owned.Length);
        _logger.LogInformation("worker {Worker}: io_uring, {Slots} receive buffers shared by {Ports} port(s)", Id, slots, _owned.Length);
        return UringLoop(ring, header);
    }

    private bool FallBack(string why)
    {
        _logger.LogWarning("worker {Worker}: io: uring could not start ({Why}); using read/write (io: syscalls)", Id, why);
        return false;
    }

    private unsafe bool UringLoop(UringRing ring, int header)
    {
        var completions = new UringCompletion[Batch.Capacity];
        int[] slotWrites = new int[Batch.SlotCount];
        int[] fds = [.. _devices.Select(static d => d.Fd.Value)];
        int[] headers = [.. _devices.Select(static d => d.HeaderSize)];
        var sink = new UringSink(ring, fds, headers, slotWrites, _captures);
        PortCounters[] counters = Graph.PortCounters;
        int wakeupIndex = _owned.Length;
        bool anyFrame = false;
        long pollUntil = 0;
        try
        {
            while (!_stopping)
            {
                long before = Now();
                int reaped = ring.SubmitAndReap(before < pollUntil ? 0 : IdleWaitNanoseconds, completions);
                if (reaped < 0)
                {
                    throw ErrnoException.FromErrno("io_uring submit", -reaped);
                }

                long now = reaped == 0 && before < pollUntil ? before : Now();
                if (_uplink is not null && now >= _nextResolve)
                {
                    ResolveNextHops(_uplink, now);
                }

                if (reaped == 0)
                {
                    if (now >= pollUntil)
                    {
                        _dataplane.Conntrack.Sweep(now, IdleSweepBuckets);
                    }

                    continue;
                }

                bool received = false;
                for (int i = 0; i < reaped; i++)
                {
                    ref readonly UringCompletion c = ref completions[i];
                    if ((c.UserData & WriteFlag) != 0)
                    {
                        WriteCompleted(ring, in c, slotWrites, counters);
                        continue;
                    }

                    int owner = (int)c.UserData;
                    if (!c.More && !_stopping)
                    {
                        // The multishot read ended (the pool ran dry, or an error): arm it again.
                        ring.QueueRead(owner == wakeupIndex ? _uringWakeup!.Value : _owned[owner].Fd.Value, (ulong)owner);
                    }

                    if (c.Result <= 0 || !c.HasBuffer)
                    {
                        if (c.HasBuffer)
                        {
                            ring.Recycle(c.BufferId);
                        }

                        if (c.Result == -Errno.EINVAL && !anyFrame)
                        {
                            // Linux before 6.7 has no multishot read: the very first read says so.
                            return FallBack("this kernel has no multishot read (Linux 6.7)");
                        }

                        if (c.Result is not (-Errno.ENOBUFS or -Errno.EAGAIN or -Errno.EINTR or -Errno.ECANCELED))
                        {
                            ReadErrors++;
                        }

                        continue;
                    }

                    anyFrame = true;
                    if (owner == wakeupIndex)
                    {
                        ring.Recycle(c.BufferId);
                        continue;
                    }

                    received = true;
                    if (!ReceiveInSlot(_owned[owner], c.BufferId, c.Result, header, now))
                    {
                        ring.Recycle(c.BufferId);
                    }
                }

                if (received)
                {
                    pollUntil = now + _busyPollNanoseconds;
                }

                ProcessUring(ring, ref sink, slotWrites);
            }

            return true;
        }
        finally
        {
            Batch.Clear();
        }
    }

    /// <summary>Adds a frame the kernel read into <paramref name="slot"/> to the batch, as <see cref="Receive"/> does; false if it is unusable.</summary>
    private bool ReceiveInSlot(PortDevice device, int slot, int length, int header, long now)
    {
        if (length < header)
        {
            ReadErrors++;
            return false;
        }

        ref PacketMeta meta = ref Batch.CommitReceivedInSlot(slot, length - header, device.Port, now);
        Span<byte> space = Batch.ReceiveSpaceOfSlot(slot, header);
        if (header > 0)
        {
            // struct virtio_net_hdr: flags (NEEDS_CSUM = 1), gso_type (0 = none).
            byte flags = space[0];
            byte gsoType = space[1];
            if ((flags & 1) != 0)
            {
                meta.Flags |= PacketFlags.ChecksumPartial | PacketFlags.Offloaded;
            }

            if (gsoType != 0)
            {
                meta.Flags |= PacketFlags.Offloaded;
            }
        }

        _captures[device.Port]?.Offer(device.Port, space.Slice(header, length - header), now);
        return true;
    }

    /// <summary>Runs the batch and queues its writes; slots with nothing to write go straight back to the pool.</summary>
    private void ProcessUring(UringRing ring, ref UringSink sink, int[] slotWrites)
    {
        int count = Batch.Count;
        if (count == 0)
        {
            return;
        }

        Graph.Run();
        Graph.Flush(ref sink);
        for (int p = 0; p < count; p++)
        {
            int slot = Batch.SlotOf(p);
            if (slotWrites[slot] == 0)
            {
                ring.Recycle(slot);
            }
        }

        Batch.Clear();
    }

    /// <summary>A write finished: a failure moves its frame from TX to TX errors; the slot's last write frees it.</summary>
    private static void WriteCompleted(UringRing ring, in UringCompletion c, int[] slotWrites, PortCounters[] counters)
    {
        int slot = (int)(c.UserData & 0xFFFF);
        if (c.Result < 0)
        {
            ref PortCounters port = ref counters[(int)((c.UserData >> 16) & 0xFFFF)];
            port.TxPackets--;
            port.TxBytes -= (long)((c.UserData >> 32) & 0x7FFF_FFFF);
            port.TxErrors++;
        }

        if (--slotWrites[slot] == 0)
        {
            ring.Recycle(slot);
        }
    }

    private unsafe void WakeUring()
    {
        if (_uringWakeup is { IsClosed: false } wakeup)
        {
            ulong one = 1;
            _ = Interop.Libc.write(wakeup, (byte*)&one, sizeof(ulong));
        }
    }

    /// <summary>
    /// Queues each output frame as an io_uring write, the virtio-net header taken from the headroom as
    /// <see cref="DeviceSink"/> does. The user data carries the slot (to free it once written), the port and the
    /// frame length (to move a failed write from TX to TX errors).
    /// </summary>
    private readonly unsafe struct UringSink(UringRing ring, int[] fds, int[] headers, int[] slotWrites, CaptureSession?[] captures) : ITransmitSink
    {
        public bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            int header = headers[port];
            Span<byte> buffer = batch.FrameWithPrefix(packet, header);
            ref PacketMeta meta = ref batch.Meta(packet);
            if (header > 0 && (meta.Flags & PacketFlags.Offloaded) == 0)
            {
                // A frame the pipeline built or that arrived without offload: "no offload" header.
                buffer.Slice(0, header).Clear();
            }

            captures[port]?.Offer(port, buffer.Slice(header), meta.Timestamp);
            int slot = batch.SlotOf(packet);
            ulong userData = WriteFlag | ((ulong)(uint)meta.Length << 32) | ((ulong)port << 16) | (uint)slot;
            byte* start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(buffer));
            if (!ring.QueueWrite(fds[port], start, buffer.Length, userData))
            {
                return false;
            }

            slotWrites[slot]++;
            return true;
        }
    }
}
