using System.Net;
using System.Net.NetworkInformation;
using Dataplane.Config;
using Dataplane.Conntrack;
using Dataplane.Control;
using Dataplane.Daemon.State;
using Dataplane.Io.Netns;
using Dataplane.Io.RawSocket;
using Dataplane.Io.Tap;
using Dataplane.Io.Uring;
using Dataplane.Metrics;
using Dataplane.Model;
using Dataplane.Pipeline;
using Dataplane.Tables;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// `dataplane run`: one node's forwarding daemon. Creates a TAP per pod as eth0 in the pod's namespace, with the
/// pod's MAC, addresses and default route, opens the uplink (in the node's namespace, --netns), and runs the
/// workers and the control socket. Pods come and go at run time too (<see cref="Pods"/>: `ctl pod`, the CNI
/// plugin). With <c>node.hostPort</c> it also makes the node kernel's TAP in the node's namespace
/// (<see cref="HostPortNetwork"/>). Pods' TAPs are persistent and recorded (<see cref="OwnershipRecord"/>), and
/// conntrack lives in a mapped file (<see cref="ConntrackFile"/>): disposing stops forwarding but leaves every pod its
/// eth0, and the next start adopts the TAPs and carries on every tracked flow, whether this one stopped cleanly or was
/// killed. `dataplane cleanup` removes it all. A failed start undoes what it made before it throws.
/// </summary>
public sealed class NodeDaemon : IDisposable
{
    private readonly ILogger _logger;
    private readonly FileStream _lock;
    private readonly PortDevice?[] _devices;
    private readonly Worker[] _workers;
    private readonly ControlServer _control;
    private MetricsServer? _metricsServer;
    private volatile bool _started;
    private readonly Lock _configLock = new();
    private readonly NodeConfig _config;
    private HostPortNetwork? _hostPort;
    private readonly NodeState _state;
    private int _disposed;

    private NodeDaemon(NodeConfig config, DaemonOptions options, NodeDataplane dataplane, FileStream instanceLock, NodeState state,
        OwnedPodNetworks owned, PortDevice?[] devices, List<AttachedPod> staticPods, ILoggerFactory loggers)
    {
        _state = state;
        _config = config;
        Options = options;
        Dataplane = dataplane;
        _lock = instanceLock;
        _devices = devices;
        _logger = loggers.CreateLogger("dataplane");
        Captures = new CaptureSession?[devices.Length];
        PortDevice[] present = [.. devices.OfType<PortDevice>()];
        int workerCount = config.Dataplane.Workers;
        WorkerIo io = ChooseIo(config.Dataplane.Io, present, _logger);
        _workers = new Worker[workerCount];
        for (int w = 0; w < workerCount; w++)
        {
            IEnumerable<PortDevice> ports = present.Where((_, i) => i % workerCount == w);
            _workers[w] = new Worker(w, workerCount, dataplane, devices, ports, Captures, config.Dataplane.BatchSize, io, loggers.CreateLogger("dataplane.worker"));
        }

        Pods = new PodAttacher(this, dataplane, devices, _workers, staticPods, owned, loggers.CreateLogger("dataplane.pods"));

        _control = new ControlServer(config.ControlSocketPath, config.Dataplane, this, loggers.CreateLogger("dataplane.control"));
        FlowEvents = new FlowEventFeed(dataplane.Conntrack.Events);
        Metrics = new DataplaneMetrics(this);
        HealthChecks = new HealthCheckNodePorts(options.Netns, dataplane.Services.Node, loggers);
        dataplane.ServiceController.Changed += HealthChecks.Sync;

        StartedAt = PipelineClock.Now();
    }

    public NodeDataplane Dataplane { get; }

    /// <summary>The services' healthCheckNodePorts, served as kube-proxy serves them.</summary>
    public HealthCheckNodePorts HealthChecks { get; }

    public DaemonOptions Options { get; }

    /// <summary>The node's config as started, with the pods and services the node has now.</summary>
    public NodeConfig Config => _config with { Services = Dataplane.ServiceController.Services, Pods = Dataplane.PodController.Pods };

    /// <summary>When the daemon started, on the <see cref="PipelineClock"/> (so uptime does not jump with the wall clock).</summary>
    public long StartedAt { get; }

    public TimeSpan Uptime => TimeSpan.FromTicks((PipelineClock.Now() - StartedAt) / 100);

    public IReadOnlyList<Worker> Workers => _workers;

    public IReadOnlyList<Graph> Graphs => [.. _workers.Select(static w => w.Graph)];

    /// <summary>The ports' devices by port id (null where no port is).</summary>
    public IReadOnlyList<PortDevice?> Devices => _devices;

    /// <summary>The pods, static and added at run time: `ctl pod`, the CNI plugin.</summary>
    public PodAttacher Pods { get; }

    /// <summary>Whether the workers run (pods may be added and removed from then on).</summary>
    public bool Started => _started;

    /// <summary>Active `ctl capture` sessions by port id (workers read this array every packet).</summary>
    public CaptureSession?[] Captures { get; }

    public string ControlSocketPath => _control.Path;

    /// <summary>The control socket's connections: open, refused, closed idle (for /metrics).</summary>
    internal ControlAdmission ControlConnections => _control.Admission;

    /// <summary>Conntrack entry creations and removals, for `ctl flows --follow`.</summary>
    public FlowEventFeed FlowEvents { get; }

    public DataplaneMetrics Metrics { get; }

    /// <summary>The HTTP side's Unix socket (/metrics, /healthz, /readyz), or null before it started.</summary>
    public string? MetricsSocketPath => _metricsServer?.UnixSocketPath;

    /// <summary>Why the node is not ready to serve its pods yet (empty when it is): what /readyz answers.</summary>
    public IReadOnlyList<string> NotReadyReasons()
    {
        var reasons = new List<string>();
        if (!_started)
        {
            reasons.Add("starting: workers not running yet");
        }

        foreach (Worker worker in _workers.Where(static w => Volatile.Read(ref w.Iterations) == 0))
        {
            reasons.Add($"worker {worker.Id}: has not entered its loop");
        }

        NodeConfig config = Config;
        foreach (PodConfig pod in config.Pods.Where(p => !Dataplane.TryGetPort(p.Name, out Port port) || _devices[port.Id] is null))
        {
            reasons.Add($"pod {pod.Name}: no TAP attached");
        }

        if (Cluster?.Sync.Status() is { Ready: false } cluster)
        {
            reasons.Add($"cluster: {cluster.Source} not listed yet (services, endpointslices and nodes)");
        }

        IReadOnlyCollection<string> programmed = Dataplane.Services.ServiceNames;
        foreach (ServiceConfig service in config.Services.Where(s => !programmed.Contains(s.Name)))
        {
            reasons.Add($"service {service.Name}: not programmed");
        }

        foreach (ref readonly Tables.Adjacency adjacency in Dataplane.Adjacencies.Entries)
        {
            if (adjacency.Kind == Tables.AdjacencyKind.NextHop && Volatile.Read(in adjacency.Mac) == 0)
            {
                reasons.Add($"next hop {adjacency.NextHop}: not resolved yet (ARP/NDP on the uplink)");
            }
        }

        return reasons;
    }

    public PipelineStats Stats() => PipelineStats.From(Graphs, Dataplane.Ports);

    /// <summary>Builds the node and starts forwarding. Throws <see cref="DaemonStartException"/> with nothing left behind.</summary>
    public static NodeDaemon Start(NodeConfig config, DaemonOptions options, ILoggerFactory loggers)
    {
        ILogger logger = loggers.CreateLogger("dataplane");
        // Validation checked the control socket too, but the file system may have changed since; the metrics socket
        // next to it is replaced at start-up as well, so a file there must not be a user's.
        string? metricsSocket = MetricsServer.UnixSocketFor(config.ControlSocketPath);
        if ((ControlSocketFile.Problem(config.ControlSocketPath) ?? (metricsSocket is null ? null : ControlSocketFile.SocketProblem(metricsSocket))) is { } socketProblem)
        {
            throw new DaemonStartException($"node {config.Node.Name}: dataplane.controlSocket: {socketProblem}");
        }

        FileStream instanceLock = AcquireLock(config);
        var staticPods = new List<AttachedPod>();
        var devices = new List<PortDevice>();
        NetworkNamespace? nodeNamespace = null;
        HostPortNetwork? hostPort = null;
        NodeState? state = null;
        OwnedPodNetworks? owned = null;
        NodeDaemon? built = null;
        try
        {
            state = NodeState.Open(config, logger);
            owned = new OwnedPodNetworks(state.Record, loggers.CreateLogger("dataplane.pods"));
            nodeNamespace = options.Netns is null ? null : NetworkNamespace.Open(options.Netns);
            if (config.Node.HostPort is { } host && config.Node.Uplink is not null)
            {
                // First, so the dataplane is built with the link-local address the kernel gave it.
                hostPort = HostPortNetwork.Create(config, options.Netns);
                logger.LogInformation("host port: TAP {Name} in the node namespace with {Ip}{Ip6}, default via {NextHop}; the node's kernel sends through the dataplane",
                    host.Name, config.Node.Uplink.Ip, config.Node.Uplink.IpV6 is { } ip6 ? $" and {ip6}" : "", HostPortConfig.NextHop4);
            }

            var dataplane = new NodeDataplane(config, hostPort?.LinkLocal, state.Conntrack);
            if (state.Conntrack.Restored)
            {
                ConntrackRestore restored = dataplane.RestoreFlows(PipelineClock.Now());
                logger.LogInformation("conntrack: {Restored} from {Path}", restored, state.Conntrack.Path);
            }

            bool offloads = config.Dataplane.Offloads;
            var byId = new PortDevice?[dataplane.Ports.Capacity];
            foreach (Port port in dataplane.Ports)
            {
                if (port.Kind == PortKind.Uplink)
                {
                    string iface = config.Node.Uplink!.Interface;
                    var socketOptions = new PacketSocketOptions { Promiscuous = true, QdiscBypass = true, VnetHeader = offloads };
                    PacketSocket socket = InNamespace(nodeNamespace, () => PacketSocket.Open(iface, socketOptions));
                    devices.Add(byId[port.Id] = new UplinkPortDevice(port.Id, socket, offloads));
                    logger.LogInformation("uplink: packet socket on {Interface}{Namespace}", iface, options.Netns is null ? "" : $" in namespace {options.Netns}");
                    continue;
                }

                if (port.Kind == PortKind.Host)
                {
                    devices.Add(byId[port.Id] = new TapPortDevice(port.Id, port.Name, hostPort!.Tap));
                    continue;
                }

                PodConfig pod = config.Pods.First(p => p.Name == port.Name);
                PodNetworkSpec spec = PodAttacher.Spec(config, pod, port.Mtu, pod.Netns ?? $"{config.Node.Name}-{pod.Name}", "eth0", createNamespace: true, []);
                PodNetwork network = owned.Create(spec, pod.Name);
                var device = new TapPortDevice(port.Id, port.Name, network.Tap);
                staticPods.Add(new AttachedPod(pod, network, device, "config", null));
                devices.Add(byId[port.Id] = device);
                logger.LogInformation("pod {Pod}: a TAP is eth0 in namespace {Namespace}{Created}, {Ip} via {Gateway}",
                    pod.Name, spec.Namespace, network.Adopted ? " (adopted from the last run)" : network.CreatedNamespace ? " (created)" : "", pod.Ip, config.Node.GatewayIp);
            }

            var daemon = new NodeDaemon(config, options, dataplane, instanceLock, state, owned, byId, staticPods, loggers) { _hostPort = hostPort };
            built = daemon;
            // Forwarding first: after a restart the pods' flows wait for the workers, not for the control plane.
            foreach (Worker worker in daemon._workers)
            {
                worker.Start();
            }

            daemon._started = true;
            daemon.Pods.Readopt();
            daemon.HealthChecks.Sync(daemon.Dataplane.ServiceController.Services);
            string? metricsAddress = options.MetricsAddress ?? config.Dataplane.MetricsAddress;
            try
            {
                OpenFileLimit.RaiseToHard(logger);
                daemon._metricsServer = MetricsServer.Start(daemon, daemon.Metrics, metricsAddress, loggers);
                // Last: once `ctl status` answers, the daemon has made everything it makes at start (the CNI plugin
                // and the tests wait for exactly that).
                daemon._control.Start();
            }
            catch
            {
                daemon.Dispose();
                throw;
            }

            if (metricsAddress is not null)
            {
                logger.LogInformation("metrics: http://{Address}/metrics, /healthz, /readyz", metricsAddress);
            }

            logger.LogInformation("node {Node}: forwarding for {Pods} pods with {Workers} worker(s), offloads {Offloads}, io {Io}; control socket {Socket}",
                config.Node.Name, config.Pods.Count, daemon._workers.Length, offloads ? "on" : "off", daemon._workers[0].Io == WorkerIo.Uring ? "uring" : "syscalls", daemon.ControlSocketPath);
            return daemon;
        }
        catch (Exception ex) when (ex is not DaemonStartException)
        {
            // A daemon that was built has let its pods go (kept and recorded, as at any stop); before that, what this
            // start made is removed and what it adopted let go.
            if (built is null)
            {
                foreach (AttachedPod pod in staticPods)
                {
                    owned!.Undo(pod.Network);
                }
            }

            Undo(devices, instanceLock, logger, hostPort);
            state?.Abandon();
            throw new DaemonStartException($"node {config.Node.Name}: could not start: {ex.Message}", ex);
        }
        finally
        {
            nodeNamespace?.Dispose();
        }
    }

    /// <summary>
    /// Where services and routes come from in a cluster (the API server's watch or an objects file); null when
    /// node.yaml and <c>ctl service</c> give them. Set once after start.
    /// </summary>
    public ClusterSource? Cluster { get; private set; }

    /// <summary>Follows the cluster from now on; the daemon stops it first when it stops.</summary>
    public void Follow(Func<NodeDaemon, ClusterSource> start)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (Cluster is not null)
        {
            throw new InvalidOperationException("the node follows a cluster already");
        }

        Cluster = start(this);
    }

    /// <summary>Applies the routes learned from the cluster with the workers paused (they read the FIB without locks).</summary>
    public RouteSync ApplyRoutes(IReadOnlyList<RouteConfig> routes) => _started
        ? Pods.ChangeTables(() => Dataplane.Routes.Replace(routes))
        : Dataplane.Routes.Replace(routes);

    /// <summary>Adds or replaces services from a `services:` document; returns a line per service.</summary>
    public IReadOnlyList<string> ApplyServices(string yaml, string source)
    {
        RefuseInCluster();
        lock (_configLock)
        {
            ConfigResult parsed = NodeConfigLoader.ParseServices(yaml, source, Config);
            if (!parsed.IsValid)
            {
                throw new InvalidOperationException(string.Join(Environment.NewLine, parsed.Errors));
            }

            var lines = new List<string>();
            foreach (ServiceConfig service in parsed.Config.Services)
            {
                ServiceUpdate update = Dataplane.ServiceController.Apply(service);
                if (!update.Succeeded)
                {
                    throw new InvalidOperationException($"service {service.Name}: {string.Join("; ", update.Errors)}");
                }

                lines.Add(update.ToString());
                _logger.LogInformation("service {Service} applied: {Update}", service.Name, update);
            }

            return lines;
        }
    }

    public string DeleteService(string name)
    {
        RefuseInCluster();
        lock (_configLock)
        {
            string key = ServiceNames.FromUserInput(name);
            ServiceUpdate update = Dataplane.ServiceController.Remove(key) ?? throw new InvalidOperationException($"no service named '{key}'");
            _logger.LogInformation("service {Service} deleted: {Update}", name, update);
            return update.ToString();
        }
    }

    /// <summary>
    /// SIGHUP: re-reads the config file and hands its services to the controller, which applies only what changed
    /// (added, changed, removed) without touching other flows. Changes to the node, pods or routes need a restart;
    /// they are reported, not half-applied.
    /// </summary>
    public void Reload()
    {
        if (Cluster is not null)
        {
            Cluster.Reload();
            return;
        }

        if (Options.ConfigPath is null)
        {
            _logger.LogWarning("reload: no config file to re-read");
            return;
        }

        ConfigResult result = NodeConfigLoader.Load(Options.ConfigPath);
        if (!result.IsValid)
        {
            foreach (ConfigError error in result.Errors)
            {
                _logger.LogError("reload: {Error}", error);
            }

            _logger.LogError("reload: {Path} has errors; still running the previous config", Options.ConfigPath);
            return;
        }

        NodeConfig next = result.Config;
        lock (_configLock)
        {
            if (next with { Services = _config.Services, Source = _config.Source } != _config)
            {
                _logger.LogWarning("reload: node, pod, route or engine settings changed; they take effect on restart (services are reloaded now)");
            }

            ServiceSync sync = Dataplane.ServiceController.Replace(next.Services, Options.ConfigPath);
            foreach (ServiceUpdate removed in sync.Removed)
            {
                _logger.LogInformation("reload: service {Service} removed: {Update}", removed.ServiceName, removed);
            }

            foreach (ServiceUpdate update in sync.Added.Concat(sync.Updated).Concat(sync.Failed))
            {
                if (update.Changed || !update.Succeeded)
                {
                    _logger.LogInformation("reload: service {Service}: {Update}", update.ServiceName, update);
                }
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // The cluster's informers first: nothing programs the tables while they are taken down.
        Cluster?.Dispose();
        _metricsServer?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Dataplane.ServiceController.Changed -= HealthChecks.Sync;
        HealthChecks.Dispose();
        _control.Dispose();
        Metrics.Dispose();
        foreach (Worker worker in _workers)
        {
            worker.Stop();
            worker.Dispose();
        }

        foreach (CaptureSession? capture in Captures)
        {
            capture?.Dispose();
        }

        Pods.Dispose();
        Undo([.. _devices.OfType<UplinkPortDevice>()], _lock, _logger, _hostPort);
        _state.Dispose();
        _logger.LogInformation("node {Node}: stopped; pods keep their eth0 and conntrack its flows for the next start (`dataplane cleanup --node {Node}` removes them)",
            _config.Node.Name, _config.Node.Name);
    }

    private void RefuseInCluster()
    {
        if (Cluster is { } cluster)
        {
            throw new InvalidOperationException($"services follow {cluster.Sync.Status().Source}; change them there");
        }
    }

    private static void Undo(List<PortDevice> devices, FileStream instanceLock, ILogger logger, HostPortNetwork? hostPort = null)
    {
        foreach (PortDevice device in devices)
        {
            device.Dispose();
        }

        try
        {
            hostPort?.Dispose();
        }
        catch (AggregateException ex)
        {
            logger.LogError(ex, "cleanup of {HostPort} failed", hostPort);
        }

        string path = instanceLock.Name;
        instanceLock.Dispose();
        File.Delete(path);
    }

    /// <summary>
    /// <c>io: uring</c> needs native/libdpuring.so and one virtio-net header size on every port (the receive pool's
    /// buffers are shared by all of a worker's fds); without either the daemon says why and uses read/write. A
    /// kernel without io_uring (or without multishot reads) is found by each worker as it starts, with the same result.
    /// </summary>
    private static WorkerIo ChooseIo(WorkerIo requested, IReadOnlyList<PortDevice> devices, ILogger logger)
    {
        if (requested != WorkerIo.Uring)
        {
            return requested;
        }

        if (UringLibrary.Problem is { } problem)
        {
            logger.LogWarning("dataplane.io: uring is unavailable: {Problem}; using read/write (io: syscalls)", problem);
            return WorkerIo.Syscalls;
        }

        if (devices.Any(d => d.HeaderSize != devices[0].HeaderSize))
        {
            logger.LogWarning("dataplane.io: uring needs the same virtio-net header on every port; using read/write (io: syscalls)");
            return WorkerIo.Syscalls;
        }

        return requested;
    }

    private static T InNamespace<T>(NetworkNamespace? ns, Func<T> action) => ns is null ? action() : ns.Run(action);

    /// <summary>
    /// One daemon per node: an exclusive lock next to the control socket. .NET takes FileShare.None on Unix as
    /// flock(LOCK_EX|LOCK_NB), so a second daemon fails at once, and a crashed one's lock dies with it.
    /// </summary>
    private static FileStream AcquireLock(NodeConfig config)
    {
        string path = config.ControlSocketPath + ".lock";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new DaemonStartException($"node {config.Node.Name}: a dataplane for this node is already running (it holds {path})", ex);
        }
    }
}
