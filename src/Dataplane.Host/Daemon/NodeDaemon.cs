using System.Net;
using System.Net.NetworkInformation;
using Dataplane.Config;
using Dataplane.Control;
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
/// `dataplane run`: one node's forwarding daemon. Creates a TAP per pod in the node's namespace, moves it into
/// the pod's namespace as eth0 with the pod's MAC, addresses and default route, opens the uplink, and runs the
/// workers and the control socket. Disposing stops everything and removes every TAP and every namespace it
/// created (and only those). A failed start undoes what it did before it throws.
/// </summary>
public sealed class NodeDaemon : IDisposable
{
    private readonly ILogger _logger;
    private readonly FileStream _lock;
    private readonly List<PodNetwork> _podNetworks;
    private readonly PortDevice[] _devices;
    private readonly Worker[] _workers;
    private readonly ControlServer _control;
    private MetricsServer? _metricsServer;
    private volatile bool _started;
    private readonly Lock _configLock = new();
    private readonly NodeConfig _config;
    private int _disposed;

    private NodeDaemon(NodeConfig config, DaemonOptions options, NodeDataplane dataplane, FileStream instanceLock,
        List<PodNetwork> podNetworks, PortDevice[] devices, ILoggerFactory loggers)
    {
        _config = config;
        Options = options;
        Dataplane = dataplane;
        _lock = instanceLock;
        _podNetworks = podNetworks;
        _devices = devices;
        _logger = loggers.CreateLogger("dataplane");
        Captures = new CaptureSession?[devices.Length];
        int workerCount = Math.Min(config.Dataplane.Workers, Math.Max(1, devices.Length));
        WorkerIo io = ChooseIo(config.Dataplane.Io, devices, _logger);
        _workers = new Worker[workerCount];
        for (int w = 0; w < workerCount; w++)
        {
            PortDevice[] owned = [.. devices.Where((_, i) => i % workerCount == w)];
            _workers[w] = new Worker(w, workerCount, dataplane, devices, owned, Captures, config.Dataplane.BatchSize, io, loggers.CreateLogger("dataplane.worker"));
        }

        _control = new ControlServer(config.ControlSocketPath, this, loggers.CreateLogger("dataplane.control"));
        FlowEvents = new FlowEventFeed(dataplane.Conntrack.Events);
        Metrics = new DataplaneMetrics(this);

        StartedAt = PipelineClock.Now();
    }

    public NodeDataplane Dataplane { get; }

    public DaemonOptions Options { get; }

    /// <summary>The node's config as started, with the services the controller holds now.</summary>
    public NodeConfig Config => _config with { Services = Dataplane.ServiceController.Services };

    /// <summary>When the daemon started, on the <see cref="PipelineClock"/> (so uptime does not jump with the wall clock).</summary>
    public long StartedAt { get; }

    public TimeSpan Uptime => TimeSpan.FromTicks((PipelineClock.Now() - StartedAt) / 100);

    public IReadOnlyList<Worker> Workers => _workers;

    public IReadOnlyList<Graph> Graphs => [.. _workers.Select(static w => w.Graph)];

    public IReadOnlyList<PortDevice> Devices => _devices;

    /// <summary>Active `ctl capture` sessions by port id (workers read this array every packet).</summary>
    public CaptureSession?[] Captures { get; }

    public string ControlSocketPath => _control.Path;

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
        foreach (PodConfig pod in config.Pods.Where(p => _devices.All(d => Dataplane.Ports[d.Port].Name != p.Name)))
        {
            reasons.Add($"pod {pod.Name}: no TAP attached");
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
        FileStream instanceLock = AcquireLock(config);
        var podNetworks = new List<PodNetwork>();
        var devices = new List<PortDevice>();
        NetworkNamespace? nodeNamespace = null;
        try
        {
            nodeNamespace = options.Netns is null ? null : NetworkNamespace.Open(options.Netns);
            var dataplane = new NodeDataplane(config);
            bool offloads = config.Dataplane.Offloads;
            foreach (Port port in dataplane.Ports)
            {
                if (port.Kind == PortKind.Uplink)
                {
                    string iface = config.Node.Uplink!.Interface;
                    var socketOptions = new PacketSocketOptions { Promiscuous = true, QdiscBypass = true, VnetHeader = offloads };
                    PacketSocket socket = InNamespace(nodeNamespace, () => PacketSocket.Open(iface, socketOptions));
                    devices.Add(new UplinkPortDevice(port.Id, socket, offloads));
                    logger.LogInformation("uplink: packet socket on {Interface}{Namespace}", iface, options.Netns is null ? "" : $" in namespace {options.Netns}");
                    continue;
                }

                PodConfig pod = config.Pods.First(p => p.Name == port.Name);
                PodNetworkSpec spec = PodSpec(config, pod, port, offloads);
                PodNetwork network = InNamespace(nodeNamespace, () => PodNetwork.Create(spec));
                podNetworks.Add(network);
                devices.Add(new TapPortDevice(port.Id, port.Name, network.Tap));
                logger.LogInformation("pod {Pod}: {Tap} is eth0 in namespace {Namespace}{Created}, {Ip} via {Gateway}",
                    pod.Name, spec.TapName, spec.Namespace, network.CreatedNamespace ? " (created)" : "", pod.Ip, config.Node.GatewayIp);
            }

            var daemon = new NodeDaemon(config, options, dataplane, instanceLock, podNetworks, [.. devices], loggers);
            try
            {
                daemon._control.Start();
            }
            catch
            {
                daemon.Dispose();
                throw;
            }

            foreach (Worker worker in daemon._workers)
            {
                worker.Start();
            }

            daemon._started = true;
            string? metricsAddress = options.MetricsAddress ?? config.Dataplane.MetricsAddress;
            try
            {
                daemon._metricsServer = MetricsServer.Start(daemon, daemon.Metrics, metricsAddress, loggers);
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
            Undo(devices, podNetworks, instanceLock, logger);
            throw new DaemonStartException($"node {config.Node.Name}: could not start: {ex.Message}", ex);
        }
        finally
        {
            nodeNamespace?.Dispose();
        }
    }

    /// <summary>Adds or replaces services from a `services:` document; returns a line per service.</summary>
    public IReadOnlyList<string> ApplyServices(string yaml, string source)
    {
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
        lock (_configLock)
        {
            ServiceUpdate update = Dataplane.ServiceController.Remove(name) ?? throw new InvalidOperationException($"no service named '{name}'");
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

        _metricsServer?.DisposeAsync().AsTask().GetAwaiter().GetResult();
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

        Undo([.. _devices], _podNetworks, _lock, _logger);
        _logger.LogInformation("node {Node}: stopped; TAPs and created namespaces removed", _config.Node.Name);
    }

    private static void Undo(List<PortDevice> devices, List<PodNetwork> podNetworks, FileStream instanceLock, ILogger logger)
    {
        foreach (PortDevice device in devices)
        {
            device.Dispose();
        }

        foreach (PodNetwork network in podNetworks)
        {
            try
            {
                network.Dispose();
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException)
            {
                logger.LogError(ex, "cleanup of {Network} failed", network);
            }
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
    private static WorkerIo ChooseIo(WorkerIo requested, PortDevice[] devices, ILogger logger)
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

    private static PodNetworkSpec PodSpec(NodeConfig config, PodConfig pod, Port port, bool offloads) => new()
    {
        // The TAP is renamed eth0 as it moves; its temporary name only has to be unique in the node namespace (<= 15 chars).
        TapName = $"dp{port.Id}p{Environment.ProcessId % 1_000_000}",
        Namespace = pod.Netns ?? $"{config.Node.Name}-{pod.Name}",
        Mac = PhysicalAddress.Parse(pod.Mac.ToString().Replace(':', '-').ToUpperInvariant()),
        Mtu = config.Node.Mtu,
        IPv4 = pod.Ip.ToIPAddress(),
        IPv4PrefixLength = config.Node.PodCidr.Length,
        GatewayV4 = config.Node.GatewayIp.ToIPAddress(),
        IPv6 = pod.IpV6?.ToIPAddress(),
        IPv6PrefixLength = config.Node.PodCidrV6?.Length ?? 64,
        GatewayV6 = pod.IpV6 is null ? null : config.Node.GatewayIpV6?.ToIPAddress(),
        Tap = new TapOptions
        {
            VnetHeader = offloads,
            VnetHeaderSize = PortDevice.VirtioHeaderSize,
            Offloads = offloads ? TapOffloads.Checksum | TapOffloads.Tso4 | TapOffloads.Tso6 | TapOffloads.TsoEcn : TapOffloads.None,
        },
    };
}
