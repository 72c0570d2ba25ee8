using System.Text.Json;
using Dataplane.Conntrack;
using Dataplane.Io.Pcap;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Daemon;

/// <summary>What each control request does. Results are plain records, serialized to JSON by the server.</summary>
internal static class ControlCommands
{
    public static async Task<object?> RunAsync(NodeDaemon daemon, ControlRequest request, CancellationToken cancel) => request.Command switch
    {
        "status" => Status(daemon),
        "ports" => daemon.Stats().Ports,
        "stats" => daemon.Stats(),
        "services" => Services(daemon),
        "conntrack" => ConntrackListing.List(daemon.Dataplane.Conntrack, request, PipelineClock.Now()),
        "flows" => ConntrackListing.List(daemon.Dataplane.Conntrack, request, PipelineClock.Now()).Flows,
        "metrics" => await HttpAsync(daemon, "/metrics", cancel).ConfigureAwait(false),
        "health" => new HealthResult(await HttpAsync(daemon, "/healthz", cancel).ConfigureAwait(false), await HttpAsync(daemon, "/readyz", cancel).ConfigureAwait(false)),
        "trace" => await TraceAsync(daemon, request, cancel).ConfigureAwait(false),
        "capture" => throw new ArgumentException("capture streams its file: the control server answers it with CaptureAsync"),
        "service-apply" => daemon.ApplyServices(request.Yaml ?? throw new ArgumentException("service-apply needs yaml"), "ctl service apply"),
        "service-delete" => daemon.DeleteService(request.Name ?? throw new ArgumentException("service-delete needs a name")),
        "pod-add" => daemon.Pods.Add(request.Pod ?? throw new ArgumentException("pod-add needs a pod")),
        "pod-del" => daemon.Pods.Delete(request.Pod ?? throw new ArgumentException("pod-del needs a pod (container id and interface, or name)")),
        "pod-check" => daemon.Pods.Check(request.Pod ?? throw new ArgumentException("pod-check needs a pod (container id and interface, or name)")),
        "pod-list" => daemon.Pods.List(),
        "pod-show" => daemon.Pods.Show(request.Name ?? throw new ArgumentException("pod-show needs a name")),
        "pod-gc" => daemon.Pods.Collect(request.Valid ?? []),
        _ => throw new ArgumentException($"unknown command '{request.Command}' (status, ports, stats, services, conntrack, flows, metrics, health, trace, capture, service-apply, service-delete, pod-add, pod-del, pod-check, pod-list, pod-show, pod-gc)"),
    };

    /// <summary><see cref="Io"/>: what the workers use ("uring" or "syscalls"), which is "syscalls" after a fallback from a configured uring.</summary>
    /// <param name="ReadErrors">Frames the workers could not read (I/O errors other than EAGAIN), summed: 0 on a healthy node.</param>
    /// <param name="Cluster">What the node follows in a cluster (the API server or an objects file), and how that is going; null without one.</param>
    public sealed record StatusResult(string Node, int Pid, double UptimeSeconds, int Workers, int Ports, int Pods, bool Offloads, string Io,
        int ConntrackEntries, int ConntrackCapacity, int ServicePorts, long Packets, long Drops, long ReadErrors, ClusterStatus? Cluster);

    private static StatusResult Status(NodeDaemon daemon)
    {
        PipelineStats stats = daemon.Stats();
        return new StatusResult(daemon.Config.Node.Name, Environment.ProcessId, daemon.Uptime.TotalSeconds,
            daemon.Workers.Count, daemon.Dataplane.Ports.Count, daemon.Config.Pods.Count, daemon.Config.Dataplane.Offloads,
            daemon.Workers.All(static w => w.Io == Model.WorkerIo.Uring) ? "uring" : "syscalls",
            daemon.Dataplane.Conntrack.Count, daemon.Dataplane.Conntrack.Capacity, daemon.Dataplane.Services.Count, stats.Packets, stats.Drops,
            daemon.Workers.Sum(static w => w.ReadErrors), daemon.Cluster?.Status());
    }

    public sealed record BackendInfo(string Ip, int Port, int Weight, bool Terminating, int OpenConnections);

    /// <param name="Entrance">ClusterIp, NodePort, ExternalIp or LoadBalancerIp.</param>
    /// <param name="Policy">Cluster or Local: which endpoints the entrance balances to.</param>
    /// <param name="SnatToNode">External clients are source-NATed to the node (externalTrafficPolicy: Cluster).</param>
    public sealed record ServiceInfo(string Service, string? Port, string Vip, string Protocol, int ServicePort, string Scheduler,
        string Affinity, IReadOnlyList<BackendInfo> Backends, ServicePortCounters Counters,
        string Entrance, string Policy, bool SnatToNode, IReadOnlyList<string> SourceRanges);

    private static List<ServiceInfo> Services(NodeDaemon daemon)
    {
        var result = new List<ServiceInfo>();
        foreach (ServicePort port in daemon.Dataplane.Services.Ports.OrderBy(static p => p.ServiceName, StringComparer.Ordinal)
            .ThenBy(static p => p.Policy.Kind).ThenBy(static p => p.Port))
        {
            var backends = new List<BackendInfo>();
            for (int i = 0; i < port.Backends.Length; i++)
            {
                Backend b = port.Backends[i];
                backends.Add(new BackendInfo(b.Ip.ToString(), b.Port, b.Weight, b.Terminating, port.OpenConnections(i)));
            }

            FrontendPolicy policy = port.Policy;
            result.Add(new ServiceInfo(port.ServiceName, port.PortName, port.Vip.ToString(), port.Protocol.ToString().ToUpperInvariant(), port.Port,
                port.Scheduler.ToString().ToLowerInvariant(), port.SessionAffinity.ToString(), backends, port.Counters,
                policy.Kind.ToString(), policy.LocalOnly ? "Local" : "Cluster", policy.SnatToNode, [.. policy.SourceRanges.Select(static r => r.ToString())]));
        }

        return result;
    }

    /// <summary>
    /// A flow as `ctl conntrack` and `ctl flows` show it. The packet and byte counts per direction (original, reply)
    /// are there when <c>conntrack.accounting</c> is on, null when it is off.
    /// </summary>
    public sealed record FlowInfo(string Protocol, string Source, int SourcePort, string Destination, int DestinationPort,
        string? Backend, int? BackendPort, string? Snat, string State, double ExpiresInSeconds, bool SeenReply,
        long? OriginalPackets = null, long? OriginalBytes = null, long? ReplyPackets = null, long? ReplyBytes = null);

    /// <param name="counters">Read after the entry, so a flow that ended meanwhile may show its successor's first packets.</param>
    internal static FlowInfo Describe(in FlowEntry e, long now, FlowCounters? counters)
    {
        bool dnat = (e.Flags & FlowFlags.Dnat) != 0;
        string protocol = FlowKey.ProtocolName(e.Original.Protocol);
        string state = e.Original.Protocol == IpProtocol.Tcp ? e.TcpState.ToString().ToUpperInvariant() : (e.Flags & FlowFlags.SeenReply) != 0 ? "REPLIED" : "UNREPLIED";
        string? snat = (e.Flags & FlowFlags.SnatNode) != 0 ? $"node port {e.SnatPort}"
            : (e.Flags & FlowFlags.SnatAddress) != 0 ? "gateway" : (e.Flags & FlowFlags.SnatPort) != 0 ? $"port {e.SnatPort}" : null;
        return new FlowInfo(protocol, e.Original.Source.ToString(), e.Original.SourcePort, e.Original.Destination.ToString(), e.Original.DestinationPort,
            dnat ? new IpAddress(new Ip6Address(e.NatHi, e.NatLo)).ToString() : null, dnat ? e.NatPort : null, snat, state,
            Math.Round((e.Expires - now) / 1e9, 1), (e.Flags & FlowFlags.SeenReply) != 0,
            counters?.OriginalPackets, counters?.OriginalBytes, counters?.ReplyPackets, counters?.ReplyBytes);
    }

    /// <summary>A flow event of `ctl flows --follow`: "new" or "end", with the flow as `ctl conntrack` shows it.</summary>
    public sealed record FlowEventInfo(string Event, DateTime Time, FlowInfo Flow);

    /// <param name="time">When the event is shown (wall clock); the flow's expiry is measured on the pipeline clock it was set on.</param>
    public static FlowEventInfo DescribeEvent(in FlowEvent e, DateTime time) =>
        new(e.Kind == FlowEventKind.New ? "new" : "end", time, Describe(e.Entry, PipelineClock.Now(), e.Counters));

    public sealed record HttpResult(int Status, string Body);

    public sealed record HealthResult(HttpResult Live, HttpResult Ready);

    /// <summary>Asks the daemon's own HTTP side (over its Unix socket), so `ctl` sees exactly what Prometheus sees.</summary>
    private static async Task<HttpResult> HttpAsync(NodeDaemon daemon, string path, CancellationToken cancel)
    {
        string socket = daemon.MetricsSocketPath ?? throw new InvalidOperationException("the HTTP side has no Unix socket (the control socket path is too long for one); use --metrics-address");
        (int status, string body) = await Dataplane.Protocol.UnixSocketHttp.GetAsync(socket, path, cancel).ConfigureAwait(false);
        return new HttpResult(status, body);
    }

    /// <summary><see cref="Text"/> is the human story (`ctl trace`); <see cref="Packets"/> the same as data (`ctl trace -o json`).</summary>
    public sealed record TraceResult(int Traced, string Text, IReadOnlyList<TracePacketInfo> Packets);

    /// <summary>Compiles the request's filter, if any; a filter that does not compile is the request's error (libpcap's words).</summary>
    private static PcapFilter? CompileFilter(ControlRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Filter))
        {
            return null;
        }

        return PcapFilter.TryCompile(request.Filter, out PcapFilter? filter, out string? error) ? filter : throw new ArgumentException(error);
    }

    /// <summary>Arms every worker's tracer for the next packets (matching the filter) and returns their paths once traced (or at the deadline).</summary>
    private static async Task<TraceResult> TraceAsync(NodeDaemon daemon, ControlRequest request, CancellationToken cancel)
    {
        // In range: the control server checked it (ControlArgumentRanges).
        int count = request.Count ?? 10;
        TimeSpan wait = TimeSpan.FromSeconds(request.Seconds ?? 10);
        // Not disposed here: a worker that read the tracer's state just before Disarm may still be matching with it.
        // The BpfProgram is a SafeHandle, so libpcap's program is freed once nothing references it.
        PcapFilter? filter = CompileFilter(request);
        IReadOnlyList<Graph> graphs = daemon.Graphs;
        foreach (Graph graph in graphs)
        {
            graph.Tracer.Arm(count, filter);
        }

        var deadline = DateTime.UtcNow + wait;
        // Done when some worker has traced them all and published their records at the end of their batch.
        while (DateTime.UtcNow < deadline && !graphs.Any(static g => g.Tracer.Finished))
        {
            await Task.Delay(20, cancel).ConfigureAwait(false);
        }

        foreach (Graph graph in graphs)
        {
            graph.Tracer.Disarm();
        }

        var text = new System.Text.StringBuilder();
        var packets = new List<TracePacketInfo>();
        foreach (Graph graph in graphs)
        {
            text.Append(TraceFormatter.Format(graph, daemon.Dataplane.Ports, PipelineClock.ToUnixNanoseconds));
            packets.AddRange(TraceFormatter.Packets(graph, daemon.Dataplane.Ports, PipelineClock.ToUnixNanoseconds));
            graph.Tracer.Clear();
        }

        return new TraceResult(packets.Count, text.ToString(), packets);
    }

    /// <summary><see cref="Port"/> is the port's name, or "all".</summary>
    public sealed record CaptureResult(string Port, string Format, long Packets, long Dropped, string? Stopped);

    /// <summary>
    /// `ctl capture`: streams what the port (or every port, as pcapng) sends and receives to the client in
    /// <see cref="CaptureStream"/> chunks, until enough frames, the deadline, or the client going away; then the
    /// final response. Errors before the start (unknown port, bad filter, port busy) are that response.
    /// </summary>
    public static async Task CaptureAsync(NodeDaemon daemon, ControlRequest request, Stream socket, JsonSerializerOptions json, CancellationToken cancel)
    {
        var chunks = new CaptureStream.ChunkWriter(socket);
        ControlResponse response;
        try
        {
            response = new ControlResponse(true, null, await CaptureAsync(daemon, request, chunks, cancel).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            response = new ControlResponse(false, ex.Message, null);
        }

        try
        {
            chunks.Finish(response, json);
        }
        catch (IOException)
        {
            // The client went away (Ctrl-C on `ctl capture -w - | tshark`): nothing to tell it.
        }
    }

    /// <summary>pcapng interface ids are port ids: a name per id up to the highest, "unused-N" where a removed pod's was.</summary>
    private static string[] InterfaceNames(IReadOnlyList<Port> ports)
    {
        string[] names = new string[ports.Count == 0 ? 0 : ports[^1].Id + 1];
        for (int id = 0; id < names.Length; id++)
        {
            names[id] = $"unused-{id}";
        }

        foreach (Port port in ports)
        {
            names[port.Id] = port.Name;
        }

        return names;
    }

    private static async Task<CaptureResult> CaptureAsync(NodeDaemon daemon, ControlRequest request, CaptureStream.ChunkWriter chunks, CancellationToken cancel)
    {
        IReadOnlyList<Port> ports = daemon.Dataplane.Ports.Current;
        ushort[] captured;
        string name;
        if (request.All)
        {
            captured = [.. ports.Select(static p => p.Id)];
            name = "all";
        }
        else
        {
            name = request.PortName ?? throw new ArgumentException("capture needs a port, or --all");
            if (!daemon.Dataplane.TryGetPort(name, out Port port))
            {
                throw new ArgumentException($"no port named '{name}' (ports: {string.Join(", ", ports.Select(static p => p.Name))})");
            }

            captured = [port.Id];
        }

        PcapFilter? filter = CompileFilter(request);
        ICaptureWriter writer = request.All
            ? new PcapNgStreamWriter(chunks, InterfaceNames(ports), ownsStream: false)
            : new PcapStreamWriter(chunks, ownsStream: false);
        // The file header goes out now, so that a reader (tshark -r -) starts even before the first frame.
        writer.Flush();
        var session = new CaptureSession(writer, request.Count ?? long.MaxValue, filter);
        int claimed = 0;
        for (; claimed < captured.Length; claimed++)
        {
            if (Interlocked.CompareExchange(ref daemon.Captures[captured[claimed]], session, null) is not null)
            {
                break;
            }
        }

        try
        {
            if (claimed < captured.Length)
            {
                throw new InvalidOperationException($"port {daemon.Dataplane.Ports[captured[claimed]]?.Name} is already being captured");
            }

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(request.Seconds ?? 10);
            while (!session.IsComplete && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, cancel).ConfigureAwait(false);
            }
        }
        finally
        {
            for (int i = 0; i < claimed; i++)
            {
                Volatile.Write(ref daemon.Captures[captured[i]], null);
            }

            // Let a worker that read the session just before it was cleared finish its copy.
            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
            session.Dispose();
            // The filter is left to its SafeHandle, as in TraceAsync: a late worker may still hold the session.
        }

        return new CaptureResult(name, request.All ? "pcapng" : "pcap", session.Written, session.Dropped,
            session.WriteFailure is { } failure ? $"the reader went away: {failure.Message}" : null);
    }
}
