using Dataplane.Io;
using Dataplane.Io.Epoll;
using Dataplane.Pipeline;

namespace Dataplane.Daemon.Transports;

/// <summary>
/// <c>io: syscalls</c> (the default): epoll_wait over the worker's port fds, then one read() per frame into the
/// batch's next slot until EAGAIN, and one write() per output frame. Any worker may write to any port (a write
/// to a TAP or packet socket is one atomic datagram). Always set up with the worker, so it is also what an
/// <c>io: uring</c> worker falls back to.
/// </summary>
public struct SyscallTransport : IWorkerTransport
{
    /// <summary>Frames taken from one fd before moving to the next ready fd, so one busy pod cannot starve the rest.</summary>
    public const int BurstPerPort = 64;

    /// <summary>The epoll token of the worker's wakeup; ports use their port id.</summary>
    private const int WakeupToken = ushort.MaxValue + 1;

    private readonly EpollLoop _epoll;
    private readonly EpollEvent[] _events;
    private readonly PortDevice?[] _devices;
    private readonly CaptureSession?[] _captures;
    private readonly WorkerWakeup _wakeup;
    private readonly WorkerIoCounters _counters;
    private int _ready;
    private int _next;
    private int _burstLeft;

    /// <summary>
    /// Watches <paramref name="owned"/> and the wakeup; writes go to any of <paramref name="devices"/> by port id (the
    /// daemon's array, one slot per possible port, filled and cleared as pods come and go).
    /// </summary>
    public SyscallTransport(PortDevice?[] devices, IReadOnlyList<PortDevice> owned, CaptureSession?[] captures, WorkerWakeup wakeup, WorkerIoCounters counters)
    {
        _epoll = new EpollLoop();
        try
        {
            foreach (PortDevice device in owned)
            {
                _epoll.Add(device.Fd, device.Port);
            }

            _epoll.Add(wakeup.Fd, WakeupToken);
        }
        catch
        {
            _epoll.Dispose();
            throw;
        }

        // Room for every port this worker may come to own, and the EpollLoop's own wakeup too (no one signals it).
        _events = new EpollEvent[devices.Length + 2];
        _devices = devices;
        _captures = captures;
        _wakeup = wakeup;
        _counters = counters;
    }

    public readonly string? Failure => null;

    public int Wait(long timeoutNanoseconds)
    {
        // epoll_wait counts in milliseconds: round a sub-millisecond wait up rather than spin.
        int timeoutMs = timeoutNanoseconds <= 0 ? 0 : (int)Math.Min(int.MaxValue, (timeoutNanoseconds + 999_999) / 1_000_000);
        _ready = _epoll.Wait(_events, timeoutMs);
        _next = 0;
        _burstLeft = BurstPerPort;
        return _ready;
    }

    public ReceiveStatus Receive(PacketBatch batch, long now)
    {
        for (; _next < _ready; _next++, _burstLeft = BurstPerPort)
        {
            int token = _events[_next].Token;
            if (token == WakeupToken)
            {
                _wakeup.Drain();
                continue;
            }

            if (token < 0 || _devices[token] is not { } device)
            {
                continue;
            }

            int header = device.HeaderSize;
            CaptureSession? capture = _captures[device.Port];
            while (_burstLeft > 0)
            {
                if (batch.IsFull)
                {
                    return ReceiveStatus.BatchFull;
                }

                _burstLeft--;
                Span<byte> space = batch.NextReceiveSpace(header);
                int n = device.Read(space);
                if (n < 0)
                {
                    if (n != -Errno.EAGAIN)
                    {
                        _counters.ReadErrors++;
                    }

                    break;
                }

                if (n < header)
                {
                    _counters.ReadErrors++;
                    continue;
                }

                ref PacketMeta meta = ref batch.CommitReceived(n - header, device.Port, now);
                PortFrames.Received(ref meta, space, header, capture, now);
            }
        }

        // A ready fd is traffic even if its read then found nothing: keep polling, as after frames.
        return _ready > 0 ? ReceiveStatus.Received : ReceiveStatus.Idle;
    }

    public readonly bool Send(ushort port, PacketBatch batch, ushort packet)
    {
        PortDevice device = _devices[port]!;
        Span<byte> buffer = PortFrames.Outgoing(batch, packet, port, device.HeaderSize, _captures[port]);
        return device.Write(buffer) >= 0;
    }

    public readonly void Flushed(PacketBatch batch)
    {
    }

    public readonly void PortAdded(PortDevice device, bool owned)
    {
        if (owned)
        {
            _epoll.Add(device.Fd, device.Port);
        }
    }

    public readonly void PortRemoved(PortDevice device, bool owned)
    {
        if (owned)
        {
            _epoll.Remove(device.Fd);
        }
    }

    public readonly void Dispose() => _epoll.Dispose();
}
