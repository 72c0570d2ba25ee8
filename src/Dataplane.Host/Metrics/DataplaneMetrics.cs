using System.Diagnostics.Metrics;
using System.Reflection;
using Dataplane.Conntrack;
using Dataplane.Daemon;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Metrics;

/// <summary>
/// The daemon's counters as <see cref="System.Diagnostics.Metrics"/> instruments, all observable: read from the
/// workers' existing counters when a scrape asks, so the packet path pays nothing. Names follow OpenTelemetry's conventions and come out of the Prometheus exporter as
/// <c>dataplane_port_rx_packets_total{port="web-1"}</c>, <c>dataplane_drops_total{stage="conntrack",reason="table-full"}</c>.
/// </summary>
public sealed class DataplaneMetrics : IDisposable
{
    public const string MeterName = "Dataplane";

    /// <summary>Powers of two up to the largest batch (256): a batch of 1 is a wake-up per packet, 256 is a full vector.</summary>
    private static readonly int[] s_batchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    private static readonly string[] s_tcpStates = [.. Enum.GetNames<TcpState>().Select(static s => s.ToLowerInvariant())];

    private readonly NodeDaemon _daemon;
    private readonly Meter _meter;
    private readonly Lock _snapshotLock = new();
    private readonly long[] _busyAtLastScrape;
    private readonly long[] _busyRatioPermille;
    private long _lastScrapeTicks;
    private PipelineStats? _stats;
    private long _statsTicks;

    public DataplaneMetrics(NodeDaemon daemon, string meterName = MeterName)
    {
        _daemon = daemon;
        _meter = new Meter(meterName, Version);
        _busyAtLastScrape = new long[daemon.Workers.Count];
        _busyRatioPermille = new long[daemon.Workers.Count];

        Port("dataplane.port.rx.packets", null, "Frames received on the port.", static p => p.RxPackets);
        Port("dataplane.port.rx.bytes", "By", "Bytes received on the port.", static p => p.RxBytes);
        Port("dataplane.port.tx.packets", null, "Frames sent on the port.", static p => p.TxPackets);
        Port("dataplane.port.tx.bytes", "By", "Bytes sent on the port.", static p => p.TxBytes);
        Port("dataplane.port.tx.errors", null, "Frames that could not be written to the port (full queue, port gone).", static p => p.TxErrors);
        Port("dataplane.port.rx.drops", null, "Frames received on the port that a stage dropped.", static p => p.RxDrops);

        _meter.CreateObservableCounter("dataplane.stage.packets", () => Stages(static s => s.Packets), null, "Packets a stage received.");
        _meter.CreateObservableCounter("dataplane.stage.bytes", () => Stages(static s => s.Bytes), "By", "Bytes a stage received.");
        _meter.CreateObservableCounter("dataplane.drops", () => Counters(static s => s.Drops, "reason"), null, "Packets dropped, by stage and reason (every reason, zero or not).");
        _meter.CreateObservableCounter("dataplane.stage.events", () => Counters(static s => s.Events, "event"), null, "Stage events (ARP replies, MACs learned, new flows...).");

        _meter.CreateObservableGauge("dataplane.conntrack.entries", ConntrackEntries, null, "Live conntrack entries by protocol and state.");
        _meter.CreateObservableGauge("dataplane.conntrack.capacity", () => (long)_daemon.Dataplane.Conntrack.Capacity, null, "Flows the conntrack table holds (fixed; a full table refuses new flows).");
        _meter.CreateObservableCounter("dataplane.conntrack.inserts", () => StageCounter("conntrack", static s => s.Events, "new-flows"), null, "Flows inserted in the conntrack table.");
        _meter.CreateObservableCounter("dataplane.conntrack.table_full.drops", () => StageCounter("conntrack", static s => s.Drops, "table-full"), null, "New flows refused because the conntrack table was full.");
        _meter.CreateObservableGauge("dataplane.conntrack.pod.entries", PodConntrackEntries, null,
            "Live conntrack entries charged to each pod (conntrack.perPod.maxEntries caps them; pod-entry-limit drops count the refusals).");
        _meter.CreateObservableCounter("dataplane.flow_events.lost", () => _daemon.FlowEvents.Ring.Lost, null, "Flow events (ctl flows --follow) lost because the ring was full.");

        _meter.CreateObservableGauge("dataplane.control.connections", () => (long)_daemon.ControlConnections.Open, null, "Control socket connections open now (dataplane.controlMaxConnections at most).");
        _meter.CreateObservableCounter("dataplane.control.refused", ControlRefused, null, "Control socket connections refused: peer (not root or the control group), limit (too many open), idle (no request in time).");
        _meter.CreateObservableCounter("dataplane.control.accept_errors", () => _daemon.ControlConnections.AcceptErrors, null, "accept() failures on the control socket (EMFILE, ENFILE), each survived with a back-off.");

        _meter.CreateObservableGauge("dataplane.services", () => (long)_daemon.Dataplane.Services.Count, null, "Service ports programmed.");
        _meter.CreateObservableGauge("dataplane.service.backends", ServiceBackends, null, "Backends of each service port (terminating ones included).");
        _meter.CreateObservableCounter("dataplane.service.new_flows", () => ServiceCounter(static c => c.NewFlows), null, "New flows balanced by each service port.");
        _meter.CreateObservableCounter("dataplane.service.no_backend", () => ServiceCounter(static c => c.NoBackend), null, "New flows a service port had no backend for.");

        _meter.CreateObservableCounter("dataplane.worker.busy", WorkerBusy, "s", "Time each worker spent receiving, processing and sending (rate() of it is the busy ratio).");
        _meter.CreateObservableGauge("dataplane.worker.busy_ratio", WorkerBusyRatio, null, "Share of time each worker was busy since the previous scrape (0..1).");
        _meter.CreateObservableCounter("dataplane.worker.loop.iterations", WorkerIterations, null, "Passes of each worker's loop, idle wake-ups included.");
        _meter.CreateObservableCounter("dataplane.worker.batches", WorkerBatches, null,
            "Batches (vectors) each worker ran, by size range (size=\"5-8\": batches of 5 to 8 packets); summed, every batch.");
        _meter.CreateObservableCounter("dataplane.worker.batch.packets", WorkerBatchPackets, null, "Packets in those batches (over all batches: the mean batch size).");

        // The cluster the node follows (none without --kubeconfig or --objects): Prometheus can alert on a watch cut off.
        _meter.CreateObservableGauge("dataplane.api.connected", () => Informers(static i => i.DisconnectedSince is null ? 1 : 0), null,
            "1 while the watch of a resource (services, endpointslices, nodes) is connected to the API server, 0 while it is cut off.");
        _meter.CreateObservableCounter("dataplane.api.events", () => Informers(static i => i.Events), null, "Watch events received, by resource.");
        _meter.CreateObservableCounter("dataplane.api.relists", () => Informers(static i => i.RelistsAfterExpired), null, "Complete relists after 410 Gone, by resource.");
        _meter.CreateObservableGauge("dataplane.api.program.seconds", ProgramLatency, "s",
            "Time from an object event's arrival to the node programmed, over the last 1,024 changes (quantile=\"0.5\" and \"0.99\").");

        _meter.CreateObservableGauge("dataplane.build.info", () => new Measurement<long>(1,
            new("version", Version), new("runtime", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription), new("node", _daemon.Config.Node.Name)),
            null, "Always 1; the labels say which build runs.");
    }

    /// <summary>The dataplane's informational version (with the commit when the build stamped one).</summary>
    public static string Version { get; } =
        typeof(DataplaneMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public string MeterNameInUse => _meter.Name;

    private IEnumerable<Measurement<long>> Informers(Func<Kubernetes.InformerStatus, long> value)
        => _daemon.Cluster?.Informers?.Statuses.Select(i => new Measurement<long>(value(i), new KeyValuePair<string, object?>("resource", i.Resource)))
            ?? [];

    private IEnumerable<Measurement<double>> ProgramLatency()
    {
        if (_daemon.Cluster?.Sync.Status() is not { } status)
        {
            return [];
        }

        return [new(status.ProgramP50.TotalSeconds, new KeyValuePair<string, object?>("quantile", "0.5")), new(status.ProgramP99.TotalSeconds, new KeyValuePair<string, object?>("quantile", "0.99"))];
    }

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> PodConntrackEntries()
    {
        if (_daemon.Dataplane.Conntrack.PodLimits is not { } limits)
        {
            return [];
        }

        return _daemon.Dataplane.Ports.Current.Where(static p => p.Kind == PortKind.Pod)
            .Select(p => new Measurement<long>(limits.Entries(PodFlowLimits.OwnerOf(p.Id)), new KeyValuePair<string, object?>("port", p.Name)));
    }

    /// <summary>One consistent copy of the stage and port counters per scrape (the instruments are read one after another).</summary>
    private PipelineStats Stats()
    {
        lock (_snapshotLock)
        {
            long now = Environment.TickCount64;
            if (_stats is null || now - _statsTicks > 100)
            {
                _stats = _daemon.Stats();
                _statsTicks = now;
            }

            return _stats;
        }
    }

    private void Port(string name, string? unit, string description, Func<PortStats, long> value) =>
        _meter.CreateObservableCounter(name, () => Stats().Ports.Select(p => new Measurement<long>(value(p), new("port", p.Name), new("kind", p.Kind))), unit, description);

    private IEnumerable<Measurement<long>> Stages(Func<StageStats, long> value) =>
        Stats().Stages.Select(s => new Measurement<long>(value(s), new KeyValuePair<string, object?>("stage", s.Name)));

    private IEnumerable<Measurement<long>> Counters(Func<StageStats, IReadOnlyDictionary<string, long>> group, string label)
    {
        foreach (StageStats stage in Stats().Stages)
        {
            foreach ((string name, long value) in group(stage))
            {
                yield return new Measurement<long>(value, new("stage", stage.Name), new(label, name));
            }
        }
    }

    private long StageCounter(string stage, Func<StageStats, IReadOnlyDictionary<string, long>> group, string name) =>
        Stats().Stages.Where(s => s.Name == stage).Select(s => group(s).GetValueOrDefault(name)).Sum();

    /// <summary>
    /// Walks the entry array without the table's lock (a racy read is fine for a gauge): O(capacity) per scrape,
    /// about 1 ms per 64 Ki entries, nothing allocated per entry and no insert ever waits on it.
    /// </summary>
    private IEnumerable<Measurement<long>> ConntrackEntries()
    {
        ConntrackTable table = _daemon.Dataplane.Conntrack;
        long now = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
        var tcp = new long[s_tcpStates.Length];
        var other = new Dictionary<(byte Protocol, bool Replied), long>();
        for (int i = 0; i < table.Capacity; i++)
        {
            ref FlowEntry e = ref table.Entry(i);
            if (Volatile.Read(ref e.Expires) <= now)
            {
                continue;
            }

            if (e.Original.Protocol == IpProtocol.Tcp)
            {
                tcp[Math.Min((int)e.TcpState, tcp.Length - 1)]++;
            }
            else
            {
                var key = (e.Original.Protocol, (e.Flags & FlowFlags.SeenReply) != 0);
                other[key] = other.GetValueOrDefault(key) + 1;
            }
        }

        var result = new List<Measurement<long>>();
        for (int s = 0; s < tcp.Length; s++)
        {
            result.Add(new Measurement<long>(tcp[s], new("protocol", "tcp"), new("state", s_tcpStates[s])));
        }

        // UDP and ICMP always appear (zero or not), so a dashboard's series do not come and go.
        foreach (byte protocol in (byte[])[IpProtocol.Udp, IpProtocol.Icmp])
        {
            other.TryAdd((protocol, false), 0);
            other.TryAdd((protocol, true), 0);
        }

        foreach (((byte protocol, bool replied), long count) in other)
        {
            result.Add(new Measurement<long>(count, new("protocol", FlowKey.ProtocolName(protocol).ToLowerInvariant()), new("state", replied ? "replied" : "unreplied")));
        }

        return result;
    }

    private IEnumerable<Measurement<long>> ServiceBackends()
    {
        foreach (ServicePort port in _daemon.Dataplane.Services.Ports)
        {
            yield return new Measurement<long>(port.Backends.Length,
                new("service", port.ServiceName), new("port", port.PortName ?? port.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("protocol", port.Protocol.ToString().ToLowerInvariant()));
        }
    }

    private IEnumerable<Measurement<long>> ControlRefused()
    {
        ControlAdmission admission = _daemon.ControlConnections;
        yield return new Measurement<long>(admission.RefusedPeer, new KeyValuePair<string, object?>("reason", "peer"));
        yield return new Measurement<long>(admission.RefusedLimit, new KeyValuePair<string, object?>("reason", "limit"));
        yield return new Measurement<long>(admission.ClosedIdle, new KeyValuePair<string, object?>("reason", "idle"));
    }

    private IEnumerable<Measurement<long>> ServiceCounter(Func<ServicePortCounters, long> value)
    {
        foreach (ServicePort port in _daemon.Dataplane.Services.Ports)
        {
            yield return new Measurement<long>(value(port.Counters),
                new("service", port.ServiceName), new("port", port.PortName ?? port.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("protocol", port.Protocol.ToString().ToLowerInvariant()));
        }
    }

    private IEnumerable<Measurement<double>> WorkerBusy() =>
        _daemon.Workers.Select(static w => new Measurement<double>(Volatile.Read(ref w.BusyNanoseconds) / 1e9, Tag(w)));

    /// <summary>
    /// The workers count batches by exact size (one add per batch); the sizes are summed here into power-of-two
    /// ranges: size="1", "2", "3-4", "5-8" ... "129-256". Not a System.Diagnostics.Metrics Histogram: its Record costs
    /// a worker 100-260 ns per batch under OpenTelemetry (measured), and an observable instrument cannot hand over
    /// pre-bucketed counts; nor cumulative `le` buckets on a counter, which promtool rightly refuses.
    /// </summary>
    private IEnumerable<Measurement<long>> WorkerBatches()
    {
        var result = new List<Measurement<long>>();
        foreach (Worker worker in _daemon.Workers)
        {
            KeyValuePair<string, object?> tag = Tag(worker);
            int low = 1;
            foreach (int high in s_batchBuckets)
            {
                long count = 0;
                for (int size = low; size <= high; size++)
                {
                    count += Volatile.Read(ref worker.BatchesBySize[size]);
                }

                string range = low == high ? high.ToString(System.Globalization.CultureInfo.InvariantCulture) : FormattableString.Invariant($"{low}-{high}");
                result.Add(new Measurement<long>(count, tag, new("size", range)));
                low = high + 1;
            }
        }

        return result;
    }

    private IEnumerable<Measurement<long>> WorkerBatchPackets()
    {
        foreach (Worker worker in _daemon.Workers)
        {
            long packets = 0;
            for (int size = 1; size < worker.BatchesBySize.Length; size++)
            {
                packets += size * Volatile.Read(ref worker.BatchesBySize[size]);
            }

            yield return new Measurement<long>(packets, Tag(worker));
        }
    }

    private IEnumerable<Measurement<long>> WorkerIterations() =>
        _daemon.Workers.Select(static w => new Measurement<long>(Volatile.Read(ref w.Iterations), Tag(w)));

    /// <summary>Busy time over wall time since the previous scrape (at least 1 s apart; closer scrapes see the last value).</summary>
    private IEnumerable<Measurement<double>> WorkerBusyRatio()
    {
        lock (_snapshotLock)
        {
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            double elapsedNs = _lastScrapeTicks == 0 ? 0 : System.Diagnostics.Stopwatch.GetElapsedTime(_lastScrapeTicks, now).TotalNanoseconds;
            if (_lastScrapeTicks == 0 || elapsedNs >= 1e9)
            {
                for (int w = 0; w < _busyAtLastScrape.Length; w++)
                {
                    long busy = Volatile.Read(ref _daemon.Workers[w].BusyNanoseconds);
                    _busyRatioPermille[w] = elapsedNs == 0 ? 0 : (long)Math.Clamp((busy - _busyAtLastScrape[w]) * 1e6 / elapsedNs, 0, 1e6);
                    _busyAtLastScrape[w] = busy;
                }

                _lastScrapeTicks = now;
            }

            return [.. _daemon.Workers.Select((w, i) => new Measurement<double>(_busyRatioPermille[i] / 1e6, Tag(w)))];
        }
    }

    private static KeyValuePair<string, object?> Tag(Worker worker) => new("worker", worker.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
