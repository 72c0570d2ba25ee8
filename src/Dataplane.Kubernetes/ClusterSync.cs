using System.Diagnostics;
using Dataplane.Control;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Dataplane.Kubernetes;

/// <summary>
/// Keeps the cluster's objects as the node last heard them and programs the node from them: each Service with its
/// EndpointSlices through the <see cref="ServiceController"/>, the Nodes as routes through the route controller. The
/// informers call it (one handler per kind, <see cref="Services"/>, <see cref="EndpointSlices"/>, <see cref="Nodes"/>),
/// or an objects file hands it everything at once (<see cref="Load"/>).
/// <para>
/// Nothing is programmed until every kind has been listed once (a service seen before its slices would be applied with
/// no endpoints and its flows flushed), as kube-proxy waits for its caches. After that a change costs what it touches:
/// a slice event retranslates its one service and applies it (the table rebuilds only that service's ports), a Node
/// event recomputes the routes. A complete list (start-up, a relist after 410 Gone, a reloaded file) reconciles
/// everything: what vanished is removed, what is unchanged is left alone, so valid flows survive a relist.
/// </para>
/// <para>
/// A bad object never stops the rest: it is skipped (or trimmed) with a warning naming its <c>namespace/name</c>,
/// logged once per distinct problem rather than on every event. Calls from the three informers are serialized here.
/// </para>
/// </summary>
public sealed class ClusterSync
{
    // Keys of the warnings that are not a service's (those are namespace/name).
    private const string NodesKey = "nodes";
    private const string RoutesKey = "routes";

    private readonly Lock _lock = new();
    private readonly string _nodeName;
    private readonly NodeSettings _node;
    private readonly ServiceController _services;
    private readonly Func<IReadOnlyList<RouteConfig>, RouteSync> _applyRoutes;
    private readonly ILogger _logger;
    private readonly string _source;

    private readonly Dictionary<string, V1Service> _serviceObjects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, V1EndpointSlice> _sliceObjects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _slicesByService = new(StringComparer.Ordinal);
    private readonly Dictionary<string, V1Node> _nodeObjects = new(StringComparer.Ordinal);

    // The warnings last logged per object, so a slice that changes every second does not repeat the same line.
    private readonly Dictionary<string, string> _warned = new(StringComparer.Ordinal);
    private readonly Queue<string> _recentWarnings = new();
    private readonly ProgramLatency _latency = new();

    private bool _servicesListed;
    private bool _slicesListed;
    private bool _nodesListed;
    private int _servedServices;
    private int _routes;
    private long _changes;
    private NodeIdentity? _self;

    /// <param name="applyRoutes">Applies the learned routes (the daemon pauses its workers around it).</param>
    /// <param name="source">Where the objects come from, for logs and <see cref="ServiceSync.Source"/>: the API server's address, or a file.</param>
    public ClusterSync(string nodeName, NodeSettings node, ServiceController services, Func<IReadOnlyList<RouteConfig>, RouteSync> applyRoutes,
        ILogger logger, string source)
    {
        _nodeName = nodeName;
        _node = node;
        _services = services;
        _applyRoutes = applyRoutes;
        _logger = logger;
        _source = source;
        Services = new Handler<V1Service>(this, static (s, all) => s.ListedServices(all), static (s, o) => s.ServiceChanged(o, deleted: false), static (s, o) => s.ServiceChanged(o, deleted: true));
        EndpointSlices = new Handler<V1EndpointSlice>(this, static (s, all) => s.ListedSlices(all), static (s, o) => s.SliceChanged(o, deleted: false), static (s, o) => s.SliceChanged(o, deleted: true));
        Nodes = new Handler<V1Node>(this, static (s, all) => s.ListedNodes(all), static (s, o) => s.NodeChanged(o, deleted: false), static (s, o) => s.NodeChanged(o, deleted: true));
    }

    public IResourceHandler<V1Service> Services { get; }

    public IResourceHandler<V1EndpointSlice> EndpointSlices { get; }

    public IResourceHandler<V1Node> Nodes { get; }

    /// <summary>Raised (outside the lock) after each change was programmed, with how long it took from the event.</summary>
    public event Action<TimeSpan>? Programmed;

    /// <summary>Everything at once (an objects file, loaded or reloaded): reconciled as a relist of every kind.</summary>
    public void Load(ClusterObjects objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        long start = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            Fill(_serviceObjects, objects.Services, ServiceKey);
            FillSlices(objects.EndpointSlices);
            Fill(_nodeObjects, objects.Nodes, static n => n.Metadata?.Name ?? "");
            _servicesListed = _slicesListed = _nodesListed = true;
            ProgramEverything();
        }

        Done(start);
    }

    public ClusterSyncStatus Status()
    {
        lock (_lock)
        {
            return new ClusterSyncStatus(_source, _servicesListed && _slicesListed && _nodesListed, _serviceObjects.Count, _sliceObjects.Count,
                _nodeObjects.Count, _servedServices, _routes, _changes, _latency.Percentile(0.5), _latency.Percentile(0.99), [.. _recentWarnings]);
        }
    }

    private bool Ready => _servicesListed && _slicesListed && _nodesListed;

    private void ListedServices(IReadOnlyList<V1Service> all)
    {
        Fill(_serviceObjects, all, ServiceKey);
        _servicesListed = true;
        ProgramEverything();
    }

    private void ListedSlices(IReadOnlyList<V1EndpointSlice> all)
    {
        FillSlices(all);
        _slicesListed = true;
        ProgramEverything();
    }

    private void ListedNodes(IReadOnlyList<V1Node> all)
    {
        Fill(_nodeObjects, all, static n => n.Metadata?.Name ?? "");
        _nodesListed = true;
        ProgramEverything();
    }

    private void ServiceChanged(V1Service service, bool deleted)
    {
        string key = ServiceKey(service);
        if (deleted)
        {
            _serviceObjects.Remove(key);
        }
        else
        {
            _serviceObjects[key] = service;
        }

        if (Ready)
        {
            ProgramService(key);
        }
    }

    private void SliceChanged(V1EndpointSlice slice, bool deleted)
    {
        string sliceKey = SliceKey(slice);
        string? before = _sliceObjects.TryGetValue(sliceKey, out V1EndpointSlice? old) ? ServiceTranslator.ServiceKeyOf(old) : null;
        RemoveSlice(sliceKey);
        if (!deleted)
        {
            AddSlice(sliceKey, slice);
        }

        string? after = deleted ? null : ServiceTranslator.ServiceKeyOf(slice);
        if (!Ready)
        {
            return;
        }

        // A slice relabelled from one service to another changes both.
        foreach (string? key in (ReadOnlySpan<string?>)[before, after == before ? null : after])
        {
            if (key is not null)
            {
                ProgramService(key);
            }
        }
    }

    private void NodeChanged(V1Node node, bool deleted)
    {
        string name = node.Metadata?.Name ?? "";
        if (deleted)
        {
            _nodeObjects.Remove(name);
        }
        else
        {
            _nodeObjects[name] = node;
        }

        if (Ready)
        {
            ProgramRoutes();
        }
    }

    private void ProgramEverything()
    {
        if (!Ready)
        {
            return;
        }

        // A service the node refuses keeps what it had, as one the table refuses does: handed over as it is applied.
        Dictionary<string, ServiceConfig> applied = _services.Services.ToDictionary(static s => s.Name!, StringComparer.Ordinal);
        var desired = new List<ServiceConfig>();
        var warnings = new Dictionary<string, List<ObjectWarning>>(StringComparer.Ordinal);
        foreach ((string key, V1Service service) in _serviceObjects)
        {
            ServiceTranslation translation = ServiceTranslator.Translate(service, SlicesOf(key));
            List<ObjectWarning> own = warnings[key] = [.. translation.Warnings];
            if (translation.Service is not { } config)
            {
                continue;
            }

            if (NodeProblems(config) is { Count: > 0 } problems)
            {
                own.Add(Refused(key, problems));
                if (applied.TryGetValue(key, out ServiceConfig? previous))
                {
                    desired.Add(previous);
                }
            }
            else
            {
                desired.Add(config);
            }
        }

        ServiceSync sync = _services.Replace(desired, _source);
        foreach (ServiceUpdate refused in sync.Failed)
        {
            warnings[refused.ServiceName].Add(Refused(refused.ServiceName, refused.Errors));
        }

        // Each service's warnings at once, so a refusal does not replace (and later repeat) what its translation said.
        foreach ((string key, List<ObjectWarning> own) in warnings)
        {
            Report(key, own);
        }

        foreach (string key in _warned.Keys.ToArray())
        {
            if (key is not (NodesKey or RoutesKey) && !_serviceObjects.ContainsKey(key))
            {
                _warned.Remove(key);
            }
        }

        _servedServices = _services.Count;
        if (sync.Changed || sync.Failed.Count > 0)
        {
            _logger.LogInformation("{Source}: {Sync}", _source, sync);
        }

        ProgramRoutes();
    }

    private void ProgramService(string key)
    {
        if (!_serviceObjects.TryGetValue(key, out V1Service? service))
        {
            // Deleted: should it come back with the same problem, that is worth saying again.
            _warned.Remove(key);
            if (_services.Remove(key) is { } removed)
            {
                _logger.LogDebug("service {Service} removed: {Update}", key, removed);
            }

            _servedServices = _services.Count;
            return;
        }

        ServiceTranslation translation = ServiceTranslator.Translate(service, SlicesOf(key));
        List<ObjectWarning> warnings = [.. translation.Warnings];
        if (translation.Service is { } config)
        {
            List<string> problems = NodeProblems(config);
            ServiceUpdate? update = problems.Count == 0 ? _services.Apply(config) : null;
            if (update is null || !update.Succeeded)
            {
                warnings.Add(Refused(key, update?.Errors ?? problems));
            }
            else if (update.Changed)
            {
                _logger.LogDebug("service {Service}: {Update}", key, update);
            }
        }
        else if (_services.Remove(key) is { } removed)
        {
            _logger.LogDebug("service {Service} removed: {Update}", key, removed);
        }

        Report(key, warnings);
        _servedServices = _services.Count;
    }

    /// <summary>
    /// What the node refuses in a service the translator passed, because of this node: the config file's check that no
    /// cluster, external or load-balancer IP lies inside the pod CIDRs (NodeConfigParser), which would take the
    /// traffic of the pod with that address.
    /// </summary>
    private List<string> NodeProblems(ServiceConfig config)
    {
        var addresses = new List<(IpAddress Ip, string What)>();
        if (config.ClusterIp is { } v4)
        {
            addresses.Add((v4, "cluster IP"));
        }

        if (config.ClusterIpV6 is { } v6)
        {
            addresses.Add((v6, "cluster IP"));
        }

        addresses.AddRange(config.Exposure.ExternalIps.Select(static ip => (ip, "external IP")));
        addresses.AddRange(config.Exposure.LoadBalancerIps.Select(static ip => (ip, "load-balancer IP")));
        var problems = new List<string>();
        foreach ((IpAddress ip, string what) in addresses)
        {
            if ((ip.IsV4 ? _node.PodCidr : _node.PodCidrV6) is { } podCidr && podCidr.Contains(ip))
            {
                problems.Add($"{what} {ip} is inside this node's pod CIDR {podCidr}: it would take the traffic of the pod with that address");
            }
        }

        return problems;
    }

    private static ObjectWarning Refused(string key, IEnumerable<string> errors)
    {
        (string ns, string name) = ServiceNames.Split(key);
        return new ObjectWarning("Service", ns, name, $"refused by the node, which keeps what it served before (if anything): {string.Join("; ", errors)}");
    }

    private void ProgramRoutes()
    {
        NodeTranslation translation = NodeTranslator.Translate(_nodeObjects.Values, _nodeName, _node);
        Report(NodesKey, translation.Warnings);
        if (translation.Self is { } self && _self != self)
        {
            if (_self is not null && (self.PodCidr != _node.PodCidr || self.PodCidrV6 != _node.PodCidrV6))
            {
                _logger.LogError("node {Node}: the API server now gives it pod CIDRs {Cidrs}, not {Running}; this takes a restart", _nodeName,
                    $"{self.PodCidr} {self.PodCidrV6}".Trim(), $"{_node.PodCidr} {_node.PodCidrV6}".Trim());
            }

            _self = self;
        }

        if (_node.Uplink is null)
        {
            return;
        }

        RouteSync sync = _applyRoutes(translation.Routes);
        _routes = translation.Routes.Count - sync.Refused.Count;
        var refused = new List<ObjectWarning>();
        foreach ((RouteConfig route, string problem) in sync.Refused)
        {
            refused.Add(new ObjectWarning("Route", "", route.Cidr.ToString(), $"via {route.Via}: {problem}"));
        }

        Report(RoutesKey, refused);
        if (sync.Changed)
        {
            _logger.LogInformation("{Source}: {Sync}", _source, sync);
        }
    }

    /// <summary>Logs an object's warnings when they differ from what was last logged for it.</summary>
    private void Report(string key, IReadOnlyList<ObjectWarning> warnings)
    {
        if (warnings.Count == 0)
        {
            _warned.Remove(key);
            return;
        }

        string text = string.Join(Environment.NewLine, warnings);
        if (_warned.TryGetValue(key, out string? last) && last == text)
        {
            return;
        }

        _warned[key] = text;
        foreach (ObjectWarning warning in warnings)
        {
            _logger.LogWarning("{Source}: {Warning}", _source, warning);
            _recentWarnings.Enqueue(warning.ToString());
            if (_recentWarnings.Count > 20)
            {
                _recentWarnings.Dequeue();
            }
        }
    }

    private List<V1EndpointSlice> SlicesOf(string serviceKey)
    {
        var slices = new List<V1EndpointSlice>();
        if (_slicesByService.TryGetValue(serviceKey, out HashSet<string>? keys))
        {
            foreach (string key in keys)
            {
                slices.Add(_sliceObjects[key]);
            }
        }

        return slices;
    }

    private void FillSlices(IReadOnlyList<V1EndpointSlice> all)
    {
        _sliceObjects.Clear();
        _slicesByService.Clear();
        foreach (V1EndpointSlice slice in all)
        {
            AddSlice(SliceKey(slice), slice);
        }
    }

    private void AddSlice(string sliceKey, V1EndpointSlice slice)
    {
        _sliceObjects[sliceKey] = slice;
        if (ServiceTranslator.ServiceKeyOf(slice) is { } service)
        {
            if (!_slicesByService.TryGetValue(service, out HashSet<string>? keys))
            {
                _slicesByService[service] = keys = new HashSet<string>(StringComparer.Ordinal);
            }

            keys.Add(sliceKey);
        }
    }

    private void RemoveSlice(string sliceKey)
    {
        if (_sliceObjects.Remove(sliceKey, out V1EndpointSlice? old) && ServiceTranslator.ServiceKeyOf(old) is { } service
            && _slicesByService.TryGetValue(service, out HashSet<string>? keys))
        {
            keys.Remove(sliceKey);
            if (keys.Count == 0)
            {
                _slicesByService.Remove(service);
            }
        }
    }

    /// <summary>As the translator names the service (one without a namespace is in the default one), so its slices and config match.</summary>
    private static string ServiceKey(V1Service service) => ServiceNames.Key(ServiceTranslator.NamespaceOf(service.Metadata), service.Metadata?.Name ?? "");

    private static string SliceKey(V1EndpointSlice slice) => $"{slice.Metadata?.NamespaceProperty}/{slice.Metadata?.Name}";

    private static void Fill<T>(Dictionary<string, T> cache, IReadOnlyList<T> all, Func<T, string> key)
    {
        cache.Clear();
        foreach (T item in all)
        {
            cache[key(item)] = item;
        }
    }

    private void Done(long start)
    {
        TimeSpan took = Stopwatch.GetElapsedTime(start);
        lock (_lock)
        {
            _changes++;
            _latency.Add(took);
        }

        Programmed?.Invoke(took);
    }

    /// <summary>The informer side of one kind: every call serialized through the sync's lock, timed from its arrival.</summary>
    private sealed class Handler<T>(ClusterSync sync, Action<ClusterSync, IReadOnlyList<T>> listed, Action<ClusterSync, T> upserted, Action<ClusterSync, T> deleted)
        : IResourceHandler<T>
    {
        public void Synced(IReadOnlyList<T> all) => Run(() => listed(sync, all));

        public void Upserted(T obj) => Run(() => upserted(sync, obj));

        public void Deleted(T obj) => Run(() => deleted(sync, obj));

        private void Run(Action change)
        {
            long start = Stopwatch.GetTimestamp();
            lock (sync._lock)
            {
                change();
            }

            sync.Done(start);
        }
    }
}
