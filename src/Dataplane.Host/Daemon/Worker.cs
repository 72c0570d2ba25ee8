using Dataplane.Config;
using Dataplane.Io;
using Dataplane.Io.Epoll;
using Dataplane.Pipeline;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// One forwarding thread: epoll over the port fds it owns, reads bursts into its batch's preallocated slots,
/// runs the graph once per batch and writes the output. Nothing is allocated per packet. Any worker may write
/// to any port (a write to a TAP or packet socket is one atomic datagram); tables are shared, counters are
/// per worker. With <c>io: uring</c> the same loop runs on io_uring instead (Worker.Uring.cs).
/// </summary>
public sealed partial class Worker : IDisposable
{
    /// <summary>Frames taken from one fd before moving to the next ready fd, so one busy pod cannot starve the rest.</summary>
    private const int BurstPerPort = 64;
    private const int IdleSweepBuckets = 256;

    private readonly NodeDataplane _dataplane;
    private readonly PortDevice[] _devices;
    private readonly PortDevice[] _owned;
    private readonly EpollLoop _epoll = new();
    private readonly CaptureSession?[] _captures;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly PortDevice? _uplink;
    private readonly byte[] _solicitation = new byte[128];
    private readonly long _busyPollNanoseconds;
    private long _nextResolve;
    private volatile bool _stopping;

    public Worker(int id, NodeDataplane dataplane, PortDevice[] devices, PortDevice[] owned, CaptureSession?[] captures, int batchSize, WorkerIo io, ILogger logger)
    {
        Io = io;
        _busyPollNanoseconds = dataplane.Config.Dataplane.BusyPollMicroseconds * 1000L;
        Id = id;
        _dataplane = dataplane;
        _devices = devices;
        _owned = owned;
        _captures = captures;
        _logger = logger;
        int headroom = PacketBatch.DefaultHeadroom;
        // Offloaded TCP arrives as super-frames of up to 64 KiB plus headers.
        Batch = new PacketBatch(batchSize, slotSize: headroom + 65536 + 256, headroom, slotCount: io == WorkerIo.Uring ? UringSlots(batchSize) : batchSize);
        Graph = dataplane.CreateGraph(Batch);
        foreach (PortDevice device in owned)
        {
            _epoll.Add(device.Fd, device.Port);
        }

        _uplink = owned.FirstOrDefault(d => dataplane.Ports[d.Port].Kind == PortKind.Uplink);

        _thread = new Thread(Loop) { Name = $"dataplane-worker-{id}", IsBackground = true };
    }

    public int Id { get; }

    /// <summary>How this worker moves frames: as configured, or <see cref="WorkerIo.Syscalls"/> after a fallback.</summary>
    public WorkerIo Io { get; private set; }

    public Graph Graph { get; }

    public PacketBatch Batch { get; }

    public IReadOnlyList<PortDevice> OwnedPorts => _owned;

    /// <summary>Frames that could not be read (errors other than EAGAIN), by the I/O layer.</summary>
    public long ReadErrors { get; private set; }

    public void Start() => _thread.Start();

    public void Stop()
    {
        _stopping = true;
        _epoll.Wakeup();
        WakeUring();
        _thread.Join();
    }

    private void Loop()
    {
        if (Io == WorkerIo.Uring && !_stopping && !RunUring())
        {
            Io = WorkerIo.Syscalls;
        }

        if (Io == WorkerIo.Syscalls)
        {
            RunSyscalls();
        }
    }

    private void RunSyscalls()
    {
        var events = new EpollEvent[_owned.Length + 1];
        var sink = new DeviceSink(_devices, _captures);
        long pollUntil = 0;
        try
        {
            while (!_stopping)
            {
                // Poll without sleeping for a while after traffic; sleep in epoll_wait once it has been quiet.
                long before = Now();
                int ready = _epoll.Wait(events, timeoutMs: before < pollUntil ? 0 : 250);
                long now = ready == 0 && before < pollUntil ? before : Now();
                if (_uplink is not null && now >= _nextResolve)
                {
                    ResolveNextHops(_uplink, now);
                }

                if (ready <= 0)
                {
                    if (now >= pollUntil)
                    {
                        _dataplane.Conntrack.Sweep(now, IdleSweepBuckets);
                    }

                    continue;
                }

                pollUntil = now + _busyPollNanoseconds;
                for (int e = 0; e < ready; e++)
                {
                    int token = events[e].Token;
                    if (token < 0)
                    {
                        continue;
                    }

                    Receive(_devices[token], now, ref sink);
                }

                Process(ref sink);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.LogCritical(ex, "worker {Worker} stopped on an unexpected error", Id);
            throw;
        }
    }

    private void Receive(PortDevice device, long now, ref DeviceSink sink)
    {
        int header = device.HeaderSize;
        CaptureSession? capture = _captures[device.Port];
        for (int i = 0; i < BurstPerPort; i++)
        {
            if (Batch.IsFull)
            {
                Process(ref sink);
            }

            Span<byte> space = Batch.NextReceiveSpace(header);
            int n = device.Read(space);
            if (n < 0)
            {
                if (n != -Errno.EAGAIN)
                {
                    ReadErrors++;
                }

                return;
            }

            if (n < header)
            {
                ReadErrors++;
                continue;
            }

            ref PacketMeta meta = ref Batch.CommitReceived(n - header, device.Port, now);
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

            capture?.Offer(device.Port, space.Slice(header, n - header), now);
        }
    }

    /// <summary>
    /// Asks for the MAC of every configured next hop not yet resolved, once a second, so the first packet to
    /// another node finds it known instead of being spent on an ARP request (Linux would queue it; we have no
    /// queue per neighbor, so we resolve ahead).
    /// </summary>
    private void ResolveNextHops(PortDevice uplink, long now)
    {
        _nextResolve = now + 1_000_000_000L;
        LocalAddresses local = _dataplane.Local;
        foreach (ref readonly Tables.Adjacency adjacency in _dataplane.Adjacencies.Entries)
        {
            if (adjacency.Kind != Tables.AdjacencyKind.NextHop || Volatile.Read(in adjacency.Mac) != 0)
            {
                continue;
            }

            int header = uplink.HeaderSize;
            Span<byte> frame = _solicitation.AsSpan(header);
            int length;
            if (adjacency.NextHop.IsV4)
            {
                length = Packets.NeighborSolicitations.WriteArpRequest(frame, local.UplinkMac, local.UplinkIp, adjacency.NextHop.V4);
            }
            else if (local.UplinkIp6 is { } source6)
            {
                length = Packets.NeighborSolicitations.WriteNeighborSolicitation(frame, local.UplinkMac, source6, adjacency.NextHop.V6);
            }
            else
            {
                continue;
            }

            _solicitation.AsSpan(0, header).Clear();
            uplink.Write(_solicitation.AsSpan(0, header + length));
        }
    }

    private void Process(ref DeviceSink sink)
    {
        if (Batch.Count == 0)
        {
            return;
        }

        Graph.Run();
        Graph.Flush(ref sink);
        Batch.Clear();
    }

    /// <summary>The pipeline clock: wall-clock ns, so captures and `ctl conntrack` times read naturally.</summary>
    private static long Now() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    public void Dispose()
    {
        _epoll.Dispose();
        _uringWakeup?.Dispose();
    }

    /// <summary>Writes output to the port devices, the virtio-net header taken from the headroom.</summary>
    private readonly struct DeviceSink(PortDevice[] devices, CaptureSession?[] captures) : ITransmitSink
    {
        public bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            PortDevice device = devices[port];
            int header = device.HeaderSize;
            Span<byte> buffer = batch.FrameWithPrefix(packet, header);
            ref PacketMeta meta = ref batch.Meta(packet);
            if (header > 0 && (meta.Flags & PacketFlags.Offloaded) == 0)
            {
                // A frame the pipeline built or that arrived without offload: "no offload" header.
                buffer.Slice(0, header).Clear();
            }

            captures[port]?.Offer(port, buffer.Slice(header), meta.Timestamp);
            return device.Write(buffer) >= 0;
        }
    }
}
