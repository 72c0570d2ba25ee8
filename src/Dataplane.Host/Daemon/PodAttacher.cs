using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Dataplane.Daemon.State;
using Dataplane.Io;
using Dataplane.Io.Netns;
using Dataplane.Io.Tap;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>A pod attached to the running node: its config, its TAP in its namespace, and who attached it.</summary>
/// <param name="Source">"config" (node.yaml's pods) or "runtime" (`ctl pod add`, the CNI plugin).</param>
/// <param name="ContainerId">The CNI attachment's container id (with the interface name, its key), or null.</param>
public sealed record AttachedPod(PodConfig Pod, PodNetwork Network, TapPortDevice Device, string Source, string? ContainerId);

/// <summary>
/// The pods of a running node, static and added at run time: `ctl pod add|del|list|show` and the CNI plugin's
/// ADD, DEL, CHECK and GC come here. Adding a pod builds its network first (TAP, namespace, addresses, routes:
/// the slow part, while workers forward), then programs its port under <see cref="Worker.Pause"/>, which holds
/// every worker between batches for the few microseconds the change takes, so no frame of another pod is lost.
/// Removing a pod reverses it, closes the TAP only once no worker can still be writing to it, and flushes the
/// pod's flows. One pod operation at a time.
/// </summary>
public sealed class PodAttacher : IDisposable
{
    private static readonly TimeSpan s_pauseTimeout = TimeSpan.FromSeconds(10);

    private readonly NodeDaemon _daemon;
    private readonly NodeDataplane _dataplane;
    private readonly PortDevice?[] _devices;
    private readonly Worker[] _workers;
    private readonly ILogger _logger;
    private readonly OwnedPodNetworks _owned;
    private readonly Lock _lock = new();

    /// <summary>
    /// Runs <paramref name="change"/> to what the workers read (the FIB, adjacencies) while they are paused, serialized
    /// with pod changes, which write the same tables: how learned routes are applied.
    /// </summary>
    public T ChangeTables<T>(Func<T> change)
    {
        lock (_lock)
        {
            T result = default!;
            Worker.Pause(_workers, s_pauseTimeout, () => result = change());
            return result;
        }
    }
    private readonly Dictionary<string, AttachedPod> _pods = new(StringComparer.Ordinal);
    private readonly List<Task> _closing = [];

    internal PodAttacher(NodeDaemon daemon, NodeDataplane dataplane, PortDevice?[] devices, Worker[] workers,
        IEnumerable<AttachedPod> staticPods, OwnedPodNetworks owned, ILogger logger)
    {
        _owned = owned;
        _daemon = daemon;
        _dataplane = dataplane;
        _devices = devices;
        _workers = workers;
        _logger = logger;
        foreach (AttachedPod pod in staticPods)
        {
            _pods.Add(pod.Pod.Name, pod);
        }
    }

    /// <summary>Attaches a pod: its network is made first (undone if anything fails), then its port is programmed.</summary>
    public PodInfo Add(PodRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_daemon.Started)
        {
            throw new InvalidOperationException("the node is still starting; try again");
        }

        lock (_lock)
        {
            if (request.ContainerId is { } containerId && Find(containerId, request.IfName) is { } existing)
            {
                throw new InvalidOperationException($"container {containerId} interface {request.IfName} is attached already, as pod {existing.Pod.Name}");
            }

            NodeConfig config = _dataplane.Config;
            PodPlan plan = Plan(request, config);
            IReadOnlyList<string> problems = _dataplane.PodController.Problems(plan.Pod, plan.Mtu);
            if (problems.Count > 0)
            {
                throw new InvalidOperationException($"pod {plan.Pod.Name}: {string.Join("; ", problems)}");
            }

            PodNetworkSpec spec = Spec(config, plan.Pod, plan.Mtu, plan.Netns, request.IfName, createNamespace: request.ContainerId is null, plan.Routes) with
            {
                IPv4PrefixLength = plan.Ip4PrefixLength,
                IPv6PrefixLength = plan.Ip6PrefixLength,
            };
            // Made in the pod's namespace directly: the node's (--netns) is not involved, and its fd works from here.
            PodNetwork network = _owned.Create(spec, plan.Pod.Name);
            try
            {
                Ip6Address? linkLocal = network.LinkLocal is { } ll ? Ip6Address.Parse(ll.ToString()) : null;
                Worker owner = _workers.MinBy(static w => w.OwnedPorts.Count)!;
                TapPortDevice? device = null;
                Worker.Pause(_workers, s_pauseTimeout, () =>
                {
                    Port port = _dataplane.PodController.Add(plan.Pod, plan.Mtu, linkLocal);
                    device = new TapPortDevice(port.Id, port.Name, network.Tap);
                    _devices[port.Id] = device;
                    _daemon.Captures[port.Id] = null;
                    foreach (Worker worker in _workers)
                    {
                        // The id may have been another pod's: its counters start again from zero.
                        worker.Graph.PortCounters[port.Id] = default;
                        worker.Post(device, added: true, owns: worker == owner);
                    }
                });

                var attached = new AttachedPod(plan.Pod, network, device!, "runtime", request.ContainerId);
                _pods.Add(plan.Pod.Name, attached);
                _owned.Record.AddRuntimePod(plan.Pod.Name, request);
                _logger.LogInformation("pod {Pod} added: {Interface} in {Namespace}, {Ip}{Ip6}, port {Port}, worker {Worker}{Container}",
                    plan.Pod.Name, request.IfName, plan.Netns, plan.Pod.Ip, plan.Pod.IpV6 is { } v6 ? $" and {v6}" : "", device!.Port, owner.Id,
                    request.ContainerId is null ? "" : $", container {Short(request.ContainerId)}");
                return Info(attached);
            }
            catch
            {
                if (_dataplane.PodController.TryGet(plan.Pod.Name, out _, out _))
                {
                    _ = _dataplane.PodController.Remove(plan.Pod.Name);
                }

                _owned.Undo(network);
                throw;
            }
        }
    }

    /// <summary>Detaches a pod found by container id and interface (CNI) or by name; unknown is not an error (DEL is idempotent).</summary>
    public PodDeleteResult Delete(PodRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            AttachedPod? pod = request.ContainerId is { } containerId ? Find(containerId, request.IfName)
                : request.Name is { } name ? _pods.GetValueOrDefault(name)
                : throw new ArgumentException("pod-del needs a container id and interface, or a pod name");
            if (pod is null)
            {
                return new PodDeleteResult(null, false, 0);
            }

            int flushed = Remove(pod);
            return new PodDeleteResult(pod.Pod.Name, true, flushed);
        }
    }

    /// <summary>CNI CHECK: the pod's interface inside its namespace is as attached (name, up, MAC, MTU, addresses).</summary>
    public PodCheckResult Check(PodRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            AttachedPod pod = (request.ContainerId is { } containerId ? Find(containerId, request.IfName)
                : request.Name is { } name ? _pods.GetValueOrDefault(name) : null)
                ?? throw new KeyNotFoundException($"no pod attached for {(request.ContainerId is null ? $"name {request.Name}" : $"container {request.ContainerId} interface {request.IfName}")}");
            List<string> problems = pod.Network.Problems();
            foreach (PodAddress address in request.Ips ?? [])
            {
                string ip = address.Address.Split('/')[0];
                if (ip != pod.Pod.Ip.ToString() && ip != pod.Pod.IpV6?.ToString())
                {
                    problems.Add($"{address.Address} is not an address of pod {pod.Pod.Name}");
                }
            }

            return new PodCheckResult(pod.Pod.Name, problems);
        }
    }

    /// <summary>CNI GC: removes every CNI-attached pod whose attachment the runtime no longer has.</summary>
    public PodGcResult Collect(IReadOnlyList<Protocol.PodAttachment> valid)
    {
        ArgumentNullException.ThrowIfNull(valid);
        lock (_lock)
        {
            var keep = valid.Select(static a => (a.ContainerId, a.IfName)).ToHashSet();
            var removed = new List<string>();
            foreach (AttachedPod pod in _pods.Values.Where(p => p.ContainerId is not null && !keep.Contains((p.ContainerId, p.Network.Spec.InterfaceName))).ToList())
            {
                _ = Remove(pod);
                removed.Add(pod.Pod.Name);
            }

            return new PodGcResult(removed);
        }
    }

    public IReadOnlyList<PodInfo> List()
    {
        lock (_lock)
        {
            return [.. _pods.Values.Select(Info).OrderBy(static p => p.Port)];
        }
    }

    public PodInfo Show(string name)
    {
        lock (_lock)
        {
            return _pods.TryGetValue(name, out AttachedPod? pod) ? Info(pod) : throw new KeyNotFoundException($"no pod named '{name}'");
        }
    }

    /// <summary>
    /// The daemon stops (workers already stopped): every pod keeps its eth0 (a persistent TAP, recorded as ours) and its
    /// namespace, for the next start to adopt; closing the fds is all.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            Task.WaitAll([.. _closing]);
            _closing.Clear();
            foreach (AttachedPod pod in _pods.Values)
            {
                pod.Device.Dispose();
                _owned.Release(pod.Network);
            }

            _pods.Clear();
        }
    }

    /// <summary>
    /// At start, after the workers run: attaches again every pod an earlier daemon attached at run time (their TAPs are
    /// adopted, so their connections carry on), then removes what the record lists and no pod claims any more (a pod
    /// taken out of node.yaml, a runtime pod whose namespace is gone).
    /// </summary>
    internal void Readopt()
    {
        foreach (PodRequest request in _owned.Record.RuntimePods)
        {
            try
            {
                PodInfo pod = Add(request);
                _logger.LogInformation("pod {Pod}: attached again after a restart ({Namespace})", pod.Name, request.Netns);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or ErrnoException or AggregateException)
            {
                _owned.Record.RemoveRuntimePod(request.Name!);
                _logger.LogWarning("pod {Pod}: not attached again after a restart: {Error}", request.Name, ex.Message);
            }
        }

        lock (_lock)
        {
            var claimed = _pods.Values.Select(static p => (NetworkNamespace.PathOf(p.Network.Spec.Namespace), p.Network.Spec.InterfaceName)).ToHashSet();
            foreach (OwnedTap tap in _owned.Record.Taps.Where(t => !claimed.Contains((t.Namespace, t.Name))))
            {
                _logger.LogInformation("{Outcome} (no pod claims it any more)", _owned.RemoveTap(tap));
            }

            var namespaces = claimed.Select(static c => c.Item1).ToHashSet();
            foreach (OwnedNamespace ns in _owned.Record.Namespaces.Where(n => !namespaces.Contains(n.Path)))
            {
                _logger.LogInformation("{Outcome} (no pod claims it any more)", _owned.RemoveNamespace(ns));
            }
        }
    }

    /// <summary>What <see cref="PodNetwork.Create"/> builds for a pod.</summary>
    internal static PodNetworkSpec Spec(NodeConfig config, PodConfig pod, int mtu, string netns, string interfaceName, bool createNamespace,
        IReadOnlyList<(IPAddress, int, IPAddress?)> routes)
    {
        bool offloads = config.Dataplane.Offloads;
        return new PodNetworkSpec
        {
            Namespace = netns,
            CreateNamespaceIfAbsent = createNamespace,
            InterfaceName = interfaceName,
            Mac = PhysicalAddress.Parse(pod.Mac.ToString().Replace(':', '-').ToUpperInvariant()),
            Mtu = mtu,
            IPv4 = pod.Ip.ToIPAddress(),
            IPv4PrefixLength = config.Node.PodCidr.Length,
            GatewayV4 = config.Node.GatewayIp.ToIPAddress(),
            IPv6 = pod.IpV6?.ToIPAddress(),
            IPv6PrefixLength = config.Node.PodCidrV6?.Length ?? 64,
            GatewayV6 = pod.IpV6 is null ? null : config.Node.GatewayIpV6?.ToIPAddress(),
            Routes = routes,
            Tap = new TapOptions
            {
                VnetHeader = offloads,
                VnetHeaderSize = PortDevice.VirtioHeaderSize,
                Offloads = offloads ? TapOffloads.Checksum | TapOffloads.Tso4 | TapOffloads.Tso6 | TapOffloads.TsoEcn : TapOffloads.None,
            },
        };
    }

    /// <summary>Takes the pod's port away under a pause, then closes its TAP once every worker has turned its loop twice.</summary>
    private int Remove(AttachedPod pod)
    {
        ushort id = pod.Device.Port;
        Worker.Pause(_workers, s_pauseTimeout, () =>
        {
            _ = _dataplane.PodController.Remove(pod.Pod.Name);
            _devices[id] = null;
            Volatile.Write(ref _daemon.Captures[id], null);
            foreach (Worker worker in _workers)
            {
                worker.Post(pod.Device, added: false, owns: worker.OwnedPorts.Contains(pod.Device));
            }
        });

        _pods.Remove(pod.Pod.Name);
        _owned.Record.RemoveRuntimePod(pod.Pod.Name);
        WaitForLoops();
        int flushed = _dataplane.PodController.FlushFlows(pod.Pod);
        if (pod.Network.CreatedNamespace)
        {
            _owned.Remove(pod.Network);
        }
        else
        {
            // The pod is out of the dataplane already; closing its TAP makes the kernel unregister the netdev, which
            // waits for an RCU grace period (13-46 ms measured here, most of a DEL). The runtime owns the namespace and
            // deletes it after DEL anyway, so the close finishes in the background (Dispose waits for it).
            _closing.RemoveAll(static t => t.IsCompleted);
            _closing.Add(Task.Run(() => _owned.Remove(pod.Network)));
        }

        _logger.LogInformation("pod {Pod} removed ({Source}): TAP closed, {Flows} flow(s) flushed", pod.Pod.Name, pod.Source, flushed);
        return flushed;
    }

    /// <summary>
    /// Waits until every running worker has passed its loop top twice: io_uring hands a batch's writes to the kernel
    /// at the next wait, so only then is no write to a removed port's fd still queued in user space.
    /// </summary>
    private void WaitForLoops()
    {
        long[] before = [.. _workers.Select(static w => w.LoopPasses)];
        DateTime deadline = DateTime.UtcNow + s_pauseTimeout;
        for (int i = 0; i < _workers.Length; i++)
        {
            while (_workers[i].LoopPasses < before[i] + 2 && DateTime.UtcNow < deadline)
            {
                _workers[i].Nudge();
                Thread.Sleep(1);
            }
        }
    }

    private AttachedPod? Find(string containerId, string ifName)
        => _pods.Values.FirstOrDefault(p => p.ContainerId == containerId && p.Network.Spec.InterfaceName == ifName);

    private PodInfo Info(AttachedPod pod)
    {
        Worker? worker = _workers.FirstOrDefault(w => w.OwnedPorts.Contains(pod.Device));
        PodNetworkSpec spec = pod.Network.Spec;
        var ips = new List<PodAddress> { new($"{pod.Pod.Ip}/{spec.IPv4PrefixLength}", spec.GatewayV4.ToString()) };
        if (pod.Pod.IpV6 is { } ip6)
        {
            ips.Add(new PodAddress($"{ip6}/{spec.IPv6PrefixLength}", spec.GatewayV6?.ToString()));
        }

        return new PodInfo(pod.Pod.Name, pod.Device.Port, pod.Source, pod.ContainerId, spec.InterfaceName, pod.Network.Namespace.Label,
            pod.Pod.Mac.ToString(), spec.Mtu, ips, worker?.Id ?? -1,
            pod.Network.LinkLocal is { } ll ? [ll.ToString()] : null);
    }

    /// <summary>
    /// A pod without a Kubernetes name (a runtime that passes no K8S_POD_NAME, e.g. podman): "cni-" and the shortest
    /// prefix of its container id (12 characters, as `docker ps` shows, or longer) no other pod's name has.
    /// </summary>
    private string UnnamedPod(string containerId, string ifName)
    {
        string suffix = ifName == "eth0" ? "" : $"-{ifName}";
        foreach (int length in (ReadOnlySpan<int>)[12, 20, 32, containerId.Length])
        {
            string name = $"cni-{containerId[..Math.Min(length, containerId.Length)]}{suffix}";
            if (!_pods.ContainsKey(name) && !_dataplane.Ports.TryGet(name, out _))
            {
                return name;
            }
        }

        return $"cni-{containerId}{suffix}";
    }

    private static string Short(string containerId) => containerId.Length > 12 ? containerId[..12] : containerId;

    /// <summary>A request turned into the model, or an <see cref="ArgumentException"/> that says what is wrong with it.</summary>
    private PodPlan Plan(PodRequest request, NodeConfig config)
    {
        NodeSettings node = config.Node;
        if (string.IsNullOrWhiteSpace(request.Netns))
        {
            throw new ArgumentException("the pod needs a network namespace (a path such as /var/run/netns/cni-1234 or /proc/PID/ns/net, or a name)");
        }

        if (request.ContainerId is not null && !NetworkNamespace.Exists(request.Netns))
        {
            throw new ArgumentException($"network namespace {request.Netns} does not exist");
        }

        Io.InterfaceName.Validate(request.IfName, "ifName");
        (IPAddress Address, int Length)? v4 = null, v6 = null;
        foreach (PodAddress address in request.Ips ?? [])
        {
            (IPAddress ip, int length) = ParseCidr(address.Address, "ips[].address");
            IPAddress? gateway = address.Gateway is null ? null : ParseIp(address.Gateway, "ips[].gateway");
            if (ip.AddressFamily == AddressFamily.InterNetwork)
            {
                if (v4 is not null)
                {
                    throw new ArgumentException($"two IPv4 addresses ({v4.Value.Address} and {ip}); a pod has one per family");
                }

                RequireGateway(gateway, node.GatewayIp.ToIPAddress());
                v4 = (ip, length);
            }
            else
            {
                if (v6 is not null)
                {
                    throw new ArgumentException($"two IPv6 addresses ({v6.Value.Address} and {ip}); a pod has one per family");
                }

                if (node.GatewayIpV6 is not { } gateway6)
                {
                    throw new ArgumentException($"{ip}: node {node.Name} has no IPv6 pod network (node.podCidrV6)");
                }

                RequireGateway(gateway, gateway6.ToIPAddress());
                v6 = (ip, length);
            }
        }

        if (v4 is not { } ip4)
        {
            throw new ArgumentException("the pod needs an IPv4 address (ips[].address, e.g. 10.244.1.5/24)");
        }

        Ip4Address pod4 = Ip4Address.Parse(ip4.Address.ToString());
        Ip6Address? pod6 = v6 is { } ip6 ? Ip6Address.Parse(ip6.Address.ToString()) : null;
        MacAddress mac = request.Mac is { } text ? ParseMac(text)
            : new MacAddress((0x0A58UL << 32) | pod4.Value); // 0a:58:a.b.c.d, locally administered, as OVN-Kubernetes
        string name = request.Name ?? (request.ContainerId is { } id ? UnnamedPod(id, request.IfName) : throw new ArgumentException("the pod needs a name"));

        var routes = new List<(IPAddress, int, IPAddress?)>();
        foreach (PodRoute route in request.Routes ?? [])
        {
            (IPAddress destination, int length) = ParseCidr(route.Dst, "routes[].dst");
            IPAddress? via = route.Gw is null ? null : ParseIp(route.Gw, "routes[].gw");
            if (length == 0 && (via is null || via.Equals(node.GatewayIp.ToIPAddress()) || via.Equals(node.GatewayIpV6?.ToIPAddress())))
            {
                continue; // the default route via the gateway is made with the address
            }

            routes.Add((destination, length, via));
        }

        int mtu = request.Mtu ?? node.Mtu;
        return new PodPlan(new PodConfig(name, pod4, pod6, mac, request.Netns), mtu, request.Netns, ip4.Length, v6?.Length ?? 64, routes);
    }

    private static void RequireGateway(IPAddress? given, IPAddress node)
    {
        if (given is not null && !given.Equals(node))
        {
            throw new ArgumentException($"gateway {given} is not the node's gateway {node}: set the IPAM range's gateway to {node}");
        }
    }

    private static (IPAddress Address, int Length) ParseCidr(string text, string key)
    {
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !IPAddress.TryParse(text.AsSpan(0, slash), out IPAddress? address)
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int length)
            || length > (address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128))
        {
            throw new ArgumentException($"{key}: '{text}' is not an address with a prefix length (10.244.1.5/24)");
        }

        return (address, length);
    }

    private static IPAddress ParseIp(string text, string key)
        => IPAddress.TryParse(text, out IPAddress? address) ? address : throw new ArgumentException($"{key}: '{text}' is not an IP address");

    private static MacAddress ParseMac(string text)
        => MacAddress.TryParse(text, out MacAddress mac) ? mac : throw new ArgumentException($"mac: '{text}' is not a MAC address (0a:58:0a:f4:01:05)");

    private sealed record PodPlan(PodConfig Pod, int Mtu, string Netns, int Ip4PrefixLength, int Ip6PrefixLength, IReadOnlyList<(IPAddress, int, IPAddress?)> Routes);
}
