using Dataplane.Conntrack;
using Dataplane.Model;
using Dataplane.Daemon.Transports;
using Dataplane.Io.Tap;
using Dataplane.Pipeline;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// One forwarding thread: waits on its transport for the port fds it owns, takes bursts into its batch's
/// preallocated slots, runs the graph once per batch and hands the output back to the transport. One loop for
/// every transport (<see cref="IWorkerTransport"/>: read/write by default, io_uring with <c>io: uring</c>),
/// compiled once per transport. Nothing is allocated per packet. Any worker may write to any port; tables are
/// shared, counters are per worker.
/// </summary>
public sealed class Worker : IDisposable
{
    private const int IdleSweepBuckets = 256;

    /// <summary>How long a worker sleeps in its transport's wait when there has been no traffic.</summary>
    private const long IdleWaitNanoseconds = 250_000_000;

    private readonly NodeDataplane _dataplane;
    private readonly PortDevice?[] _devices;
    private readonly List<PortDevice> _owned;
    private readonly int _headerSize;
    private readonly ManualResetEventSlim _parked = new(false);
    private readonly ManualResetEventSlim _resume = new(false);
    private readonly ManualResetEventSlim _resumed = new(false);
    private readonly List<PortChange> _portChanges = [];
    private volatile bool _pauseRequested;
    private volatile bool _running;
    private readonly CaptureSession?[] _captures;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly ConntrackSweeper _sweeper;
    private readonly long _busyPollNanoseconds;
    private readonly WorkerWakeup _wakeup = new();
    private readonly WorkerIoCounters _counters = new();
    private SyscallTransport _syscalls;
    private volatile bool _stopping;

    /// <param name="workers">How many workers share the node's tables (each sweeps its own stripe of conntrack).</param>
    /// <param name="devices">The daemon's devices by port id, one slot per possible port (filled as pods come).</param>
    public Worker(int id, int workers, NodeDataplane dataplane, PortDevice?[] devices, IEnumerable<PortDevice> owned, CaptureSession?[] captures, int batchSize, WorkerIo io, ILogger logger)
    {
        Io = io;
        _busyPollNanoseconds = dataplane.Config.Dataplane.BusyPollMicroseconds * 1000L;
        Id = id;
        _dataplane = dataplane;
        _devices = devices;
        _owned = [.. owned];
        _headerSize = dataplane.Config.Dataplane.Offloads ? PortDevice.VirtioHeaderSize : 0;
        _captures = captures;
        _logger = logger;
        int headroom = PacketBatch.DefaultHeadroom;
        // Offloaded TCP arrives as super-frames of up to 64 KiB plus headers.
        // With VXLAN, room after it for the headers of the segments vxlan-encap cuts a super-frame into.
        int segmentationRoom = dataplane.Config.Node.Vxlan is null ? 0 : Nodes.VxlanEncap.SegmentationRoom;
        Batch = new PacketBatch(batchSize, slotSize: headroom + 65536 + 256 + segmentationRoom, headroom, slotCount: io == WorkerIo.Uring ? UringTransport.PoolSlots(batchSize) : batchSize);
        Graph = dataplane.CreateGraph(Batch, worker: id, workers: workers);
        BatchesBySize = new long[Batch.Capacity + 1];
        // Read/write is set up here, so a failure stops the daemon's start; io_uring is set up on the worker's
        // thread (its ring is single-issuer) and falls back to this.
        _syscalls = new SyscallTransport(devices, _owned, captures, _wakeup, _counters);
        _sweeper = Graph.Node<Nodes.Conntrack>().Sweeper;
        _thread = new Thread(ThreadMain) { Name = $"dataplane-worker-{id}", IsBackground = true };
    }

    public int Id { get; }

    /// <summary>How this worker moves frames: as configured, or <see cref="WorkerIo.Syscalls"/> after a fallback.</summary>
    public WorkerIo Io { get; private set; }

    public Graph Graph { get; }

    public PacketBatch Batch { get; }

    /// <summary>The ports this worker receives from; changed only while it is paused (<see cref="Pause"/>).</summary>
    public IReadOnlyList<PortDevice> OwnedPorts => _owned;

    /// <summary>Frames that could not be read (errors other than EAGAIN), by the I/O layer.</summary>
    public long ReadErrors => Volatile.Read(ref _counters.ReadErrors);

    // Metrics (read by other threads at scrape time; see Metrics/DataplaneMetrics.cs). Loop passes, including idle
    // waits that timed out, tell /healthz the thread turns; busy time is from a wake-up with frames to the end of its
    // batches; batches are counted by size (one increment per batch: a Histogram<int>.Record under OpenTelemetry
    // measured 100-260 ns per call, this is one add).
    public long Iterations;
    public long BusyNanoseconds;
    public readonly long[] BatchesBySize;

    public void Start() => _thread.Start();

    public void Stop()
    {
        _stopping = true;
        _wakeup.Signal();
        // A worker whose loop a test ran on its own thread, or that never started, has no thread to join.
        if ((_thread.ThreadState & ThreadState.Unstarted) == 0)
        {
            _thread.Join();
        }
    }

    private void ThreadMain()
    {
        try
        {
            if (Io == WorkerIo.Uring && !_stopping && !RunUring())
            {
                Io = WorkerIo.Syscalls;
            }

            if (Io == WorkerIo.Syscalls)
            {
                _ = Run(ref _syscalls);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.LogCritical(ex, "worker {Worker} stopped on an unexpected error", Id);
            throw;
        }
    }

    /// <summary>Runs on io_uring until Stop; false if io_uring could not start or go on, so the caller uses read/write.</summary>
    private bool RunUring()
    {
        string? problem = UringTransport.TryCreate(Batch, _devices, _owned, _headerSize, _captures, Graph.PortCounters, _wakeup, _counters, out UringTransport uring);
        if (problem is not null)
        {
            return FallBack(problem);
        }

        try
        {
            _logger.LogInformation("worker {Worker}: io_uring, {Slots} receive buffers shared by {Ports} port(s)", Id, Batch.SlotCount, _owned.Count);
            problem = Run(ref uring);
        }
        finally
        {
            uring.Dispose();
        }

        return problem is null || FallBack(problem);
    }

    private bool FallBack(string why)
    {
        _logger.LogWarning("worker {Worker}: io: uring could not start ({Why}); using read/write (io: syscalls)", Id, why);
        // Pods may have come and gone since the read/write transport was made: watch what this worker owns now.
        _syscalls.Dispose();
        _syscalls = new SyscallTransport(_devices, _owned, _captures, _wakeup, _counters);
        return false;
    }

    /// <summary>
    /// The loop, over any transport, until Stop: wait (without sleeping while busy-polling), stamp the batch with
    /// the pipeline clock, take what arrived, run the graph and hand its output back. Returns null when stopped,
    /// or why the transport gave up (<see cref="ReceiveStatus.Failed"/>). Internal so a test can drive it over
    /// an in-memory transport on its own thread.
    /// </summary>
    internal string? Run<TTransport>(ref TTransport transport)
        where TTransport : struct, IWorkerTransport
    {
        long pollUntil = 0;
        _running = true;
        try
        {
            while (!_stopping)
            {
                Iterations++;
                if (_pauseRequested)
                {
                    Park(ref transport);
                }

                // Poll without sleeping for a while after traffic; sleep in the transport's wait once it has been quiet.
                long before = PipelineClock.Now();
                int ready = transport.Wait(before < pollUntil ? 0 : IdleWaitNanoseconds);
                long now = ready == 0 && before < pollUntil ? before : PipelineClock.Now();

                // Frames the graph makes itself (neighbor-probe's ARP/NS for unresolved next hops), due by the clock.
                if (Graph.Poll(now))
                {
                    Process(ref transport);
                }

                if (ready <= 0)
                {
                    if (now >= pollUntil)
                    {
                        // Idle: expire a slice of the flow table.
                        _sweeper.Sweep(now, IdleSweepBuckets);
                    }

                    continue;
                }

                ReceiveStatus status;
                while ((status = transport.Receive(Batch, now)) == ReceiveStatus.BatchFull)
                {
                    pollUntil = now + _busyPollNanoseconds;
                    Process(ref transport);
                }

                if (status == ReceiveStatus.Failed)
                {
                    return transport.Failure ?? "the transport failed";
                }

                if (status == ReceiveStatus.Received)
                {
                    pollUntil = now + _busyPollNanoseconds;
                }

                Process(ref transport);
                BusyNanoseconds += PipelineClock.Now() - now;
            }

            return null;
        }
        finally
        {
            _running = false;
            Batch.Clear();
            // A pause asked for as the loop ended must not wait for it.
            _parked.Set();
            _resumed.Set();
        }
    }

    /// <summary>
    /// Runs <paramref name="change"/> on the calling (control) thread while every running worker of
    /// <paramref name="workers"/> waits between batches, as VPP's worker barrier does: no graph runs, no frame is
    /// read or written, so the change may rewrite what workers read (ports, per-port arrays, owned fds). The change
    /// posts the port changes each worker applies to its transport on its own thread (<see cref="Post"/>) before it
    /// goes on. Frames arriving meanwhile wait in their TAP's queue: nothing is lost. Throws if a worker does not
    /// stop within <paramref name="timeout"/> (and lets the others go on).
    /// </summary>
    public static void Pause(IReadOnlyList<Worker> workers, TimeSpan timeout, Action change)
    {
        foreach (Worker worker in workers)
        {
            worker._parked.Reset();
            worker._resume.Reset();
            worker._resumed.Reset();
            worker._pauseRequested = true;
            worker._wakeup.Signal();
        }

        try
        {
            foreach (Worker worker in workers)
            {
                if (worker._running && !worker._parked.Wait(timeout))
                {
                    throw new InvalidOperationException($"worker {worker.Id} did not pause within {timeout.TotalSeconds:0} s");
                }
            }

            change();
        }
        finally
        {
            foreach (Worker worker in workers)
            {
                worker._resume.Set();
            }
        }

        foreach (Worker worker in workers)
        {
            if (worker._running && !worker._resumed.Wait(timeout))
            {
                throw new InvalidOperationException($"worker {worker.Id} did not apply its port changes within {timeout.TotalSeconds:0} s");
            }

            worker._pauseRequested = false;
        }
    }

    /// <summary>
    /// Inside <see cref="Pause"/>'s change: <paramref name="device"/> came (or went); this worker sends to it from
    /// now on (or no more), and receives from it when it <paramref name="owns"/> it.
    /// </summary>
    public void Post(PortDevice device, bool added, bool owns)
    {
        if (owns)
        {
            if (added)
            {
                _owned.Add(device);
            }
            else
            {
                _owned.Remove(device);
            }
        }

        if (_running)
        {
            _portChanges.Add(new PortChange(device, added, owns));
        }
    }

    /// <summary>How many loop passes this worker has made: two more than before means any batch it had in hand then is done.</summary>
    public long LoopPasses => Volatile.Read(ref Iterations);

    /// <summary>Wakes the worker from its idle wait, so it turns its loop (see <see cref="LoopPasses"/>).</summary>
    public void Nudge() => _wakeup.Signal();

    private void Park<TTransport>(ref TTransport transport)
        where TTransport : struct, IWorkerTransport
    {
        _parked.Set();
        _resume.Wait();
        foreach (PortChange change in _portChanges)
        {
            try
            {
                if (change.Added)
                {
                    transport.PortAdded(change.Device, change.Owned);
                }
                else
                {
                    transport.PortRemoved(change.Device, change.Owned);
                }
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException)
            {
                // epoll_ctl on a valid fd does not fail; if it ever does, the pod goes unserved, the worker goes on.
                _logger.LogError("worker {Worker}: port {Port} {Change}: {Error}", Id, change.Device.Name, change.Added ? "add" : "remove", ex.Message);
            }
        }

        _portChanges.Clear();
        _pauseRequested = false;
        _resumed.Set();
    }

    private readonly record struct PortChange(PortDevice Device, bool Added, bool Owned);

    private void Process<TTransport>(ref TTransport transport)
        where TTransport : struct, IWorkerTransport
    {
        if (Batch.Count == 0)
        {
            return;
        }

        BatchesBySize[Batch.Count]++;
        Graph.Run();
        Graph.Flush(ref transport);
        transport.Flushed(Batch);
        Batch.Clear();
    }

    public void Dispose()
    {
        _syscalls.Dispose();
        _wakeup.Dispose();
        _parked.Dispose();
        _resume.Dispose();
        _resumed.Dispose();
    }
}
