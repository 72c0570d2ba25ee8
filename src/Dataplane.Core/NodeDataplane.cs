using Dataplane.Conntrack;
using Dataplane.Control;
using Dataplane.Model;
using Dataplane.Nodes;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane;

/// <summary>
/// One node's dataplane built from its config: the ports, the tables every worker shares, and the stage
/// graph each worker runs. The daemon, replay and the benchmarks all build it the same way, so what a
/// replay shows is what the daemon does.
/// </summary>
public sealed partial class NodeDataplane
{
    private TokenBucket? _icmpErrorLimit;

    /// <param name="hostLinkLocal">
    /// The IPv6 link-local address the host port's kernel side really has, when it is not derived from its MAC
    /// (<c>addr_gen_mode</c> stable_privacy): the daemon makes the TAP first and reads it back, as for pods.
    /// </param>
    /// <param name="conntrackMemory">Where conntrack keeps its entries (the daemon's mapped file); process memory by default.</param>
    public NodeDataplane(NodeConfig config, Ip6Address? hostLinkLocal = null, ConntrackMemory? conntrackMemory = null)
    {
        Config = config;
        NodeSettings node = config.Node;
        MaxPods = Math.Max(config.Dataplane.MaxPods, config.Pods.Count);
        HostPortConfig? hostPort = node.Uplink is null ? null : node.HostPort;
        Ports = new PortTable((node.Uplink is null ? 0 : 1) + (hostPort is null ? 0 : 1) + MaxPods);
        if (node.Uplink is { } uplink)
        {
            Uplink = Ports.Add("uplink", PortKind.Uplink, uplink.Mac, uplink.Ip, uplink.IpV6, uplink.Mtu);
            if (hostPort is not null)
            {
                // Bound to the node's addresses (the source guard checks them) and the kernel TAP's MAC.
                HostPort = Ports.Add(hostPort.Name, PortKind.Host, hostPort.Mac, uplink.Ip, uplink.IpV6, uplink.Mtu, hostLinkLocal);
            }
        }

        Local = new LocalAddresses(
            node.Mac, node.GatewayIp, node.GatewayIpV6,
            node.Uplink?.Mac ?? MacAddress.Zero, node.Uplink?.Ip ?? Ip4Address.Any, node.Uplink?.IpV6, HostPort is not null);
        MacTable = new MacTable(config.Dataplane.MacTableCapacity, config.Dataplane.MacAgingSeconds);
        // A VXLAN route takes two: its own and its VTEP's next hop; the learned routes' room is reserved when there is
        // an uplink for them. Indexes stay inside what a FIB entry holds.
        int learned = node.Uplink is null ? 0 : RouteController.MaxRoutes;
        Adjacencies = new AdjacencyTable(capacity: Math.Min(16 + MaxPods + (2 * (config.Routes.Count + learned)), Fib4.MaxNextHop + 1));
        (int groups, int nodes) = FibCapacity(config, MaxPods);
        Fib = new Fib(groups, nodes);
        BuildRoutes();

        Services = new ServiceTable(node: new ServiceNode(node.Name, node.PodCidr, node.PodCidrV6, node.Uplink?.Ip, node.Uplink?.IpV6));
        Timeouts = new ConntrackTimeoutTable(config.Conntrack.Timeouts);
        ExternalTraffic external = node.External;
        var snat = new NodeSnat(
            node.Uplink?.Ip ?? Ip4Address.Any, node.Uplink?.IpV6 is { } up6 ? up6 : default(IpAddress), (ushort)external.SnatPortMin, (ushort)external.SnatPortMax,
            (ushort)external.NodePortMin, (ushort)external.NodePortMax);
        Masquerade = MasqueradeFor(config);
        ConntrackPodLimits perPod = config.Conntrack.PerPod;
        var podLimits = new PodFlowLimits(Ports.Capacity, perPod.EntriesFor(config.Conntrack.MaxEntries), perPod.NewFlowsPerSecond, perPod.Burst);
        Conntrack = new ConntrackTable(config.Conntrack.MaxEntries, node.GatewayIp, node.GatewayIpV6 is { } g6 ? g6 : default(IpAddress), config.Conntrack.Accounting, snat,
            conntrackMemory, podLimits)
        {
            ServiceFlowEnded = flow => Services.ReleaseConnection(
                new ServiceKey(flow.Original.Destination, (L4Protocol)flow.Original.Protocol, flow.Original.DestinationPort), flow.BackendId),
        };
        Announced = new AnnouncedAddresses(node.Uplink is not null && external.AnnounceExternalIps);
        ServiceController = new ServiceController(Services, Conntrack, Announced);
        PodController = new PodController(this);
        Routes = new RouteController(this);
        foreach (PodConfig pod in config.Pods)
        {
            // The config layer checked what PodController checks (inside the pod CIDR, unique names, IPs and MACs).
            PodController.Add(pod, node.Mtu);
        }

        ServiceSync sync = ServiceController.Replace(config.Services, config.Source);
        if (sync.Failed is [var refused, ..])
        {
            // The config layer checked every ServiceRules rule, frontend conflicts and the table's capacity: a bug.
            throw new InvalidOperationException($"{config.Source}: service {refused.ServiceName}: {string.Join("; ", refused.Errors)}");
        }
    }

    public NodeConfig Config { get; }

    /// <summary>
    /// Takes over the flows an earlier run left in conntrack's memory (when it was given a restored one), once the
    /// services are programmed and before any packet: each service flow is counted again for its backend (leastconn) and
    /// pins its client to it again (ClientIP affinity).
    /// </summary>
    public ConntrackRestore RestoreFlows(long now) => Conntrack.Restore(now, Timeouts.Longest, flow => Services.RestoreConnection(
        new ServiceKey(flow.Original.Destination, (L4Protocol)flow.Original.Protocol, flow.Original.DestinationPort),
        new IpAddress(new Ip6Address(flow.NatHi, flow.NatLo)), flow.NatPort, flow.Original.Source, now));

    /// <summary>Every port by id: the uplink and the pods; pods come and go through <see cref="PodController"/>.</summary>
    public PortTable Ports { get; }

    /// <summary>How many pods the node holds at once (<c>dataplane.maxPods</c>, at least the static pods).</summary>
    public int MaxPods { get; }

    public Port? Uplink { get; }

    /// <summary>The node kernel's port (<c>node.hostPort</c>), or null.</summary>
    public Port? HostPort { get; }

    public LocalAddresses Local { get; }

    public MacTable MacTable { get; }

    public AdjacencyTable Adjacencies { get; }

    public Fib Fib { get; }

    public ServiceTable Services { get; }

    public ConntrackTable Conntrack { get; }

    public ConntrackTimeoutTable Timeouts { get; }

    /// <summary>Which new flows leave with the node's address (off without an uplink or with node.masquerade.enabled: false).</summary>
    public MasqueradePolicy Masquerade { get; }

    /// <summary>External and load-balancer IPs the uplink answers ARP/ND for (node.announceExternalIps).</summary>
    public AnnouncedAddresses Announced { get; }

    /// <summary>The one writer of <see cref="Services"/>: every source of services goes through it.</summary>
    public ServiceController ServiceController { get; }

    /// <summary>The one writer of the pods' ports, routes and MAC entries: static pods at start, the rest at run time.</summary>
    public PodController PodController { get; }

    /// <summary>The one writer of the routes learned from the cluster's Nodes (node.yaml's are built in).</summary>
    public RouteController Routes { get; }

    /// <summary>The non-masquerade CIDRs before any learned route: this node's pod CIDRs and node.yaml's routes'.</summary>
    internal IReadOnlyList<IpPrefix> MasqueradeDefaultInside => DefaultInside(Config);

    public bool TryGetPort(string name, out Port port) => Ports.TryGet(name, out port);

    /// <summary>Stage order, computed from <see cref="StageGraph"/>: every stage only sends to stages after it.</summary>
    public static IReadOnlyList<string> StageOrder => StageGraph.Definition.Order;

    /// <summary>
    /// The node's ICMP error budget (dataplane.icmpErrorsPerSecond, icmpErrorBurst), one for all workers so the
    /// configured limit is per node. Made on first use by the graph; every worker's icmp-error takes from it.
    /// </summary>
    public TokenBucket IcmpErrorLimit => LazyInitializer.EnsureInitialized(
        ref _icmpErrorLimit, () => new TokenBucket(Config.Dataplane.IcmpErrorsPerSecond, Config.Dataplane.IcmpErrorBurst));

    /// <summary>A graph of fresh stages (their own counters) over the shared tables, for one worker.</summary>
    /// <param name="worker">Which of <paramref name="workers"/> graphs sharing the tables this is: each sweeps its own stripe of conntrack.</param>
    public Graph CreateGraph(PacketBatch batch, PacketTracer? tracer = null, int worker = 0, int workers = 1)
        => StageGraph.Definition.Build(new StageContext(this, worker, workers), batch, Ports, tracer);

    /// <summary>
    /// Pods of this node are masqueraded toward anything outside the non-masquerade CIDRs: as configured, or by default
    /// every pod CIDR the node knows (its own and each route's, i.e. the cluster's pods as this node sees them).
    /// </summary>
    private static MasqueradePolicy MasqueradeFor(NodeConfig config)
    {
        NodeSettings node = config.Node;
        if (node.Uplink is null || !node.External.Masquerade)
        {
            return MasqueradePolicy.Off;
        }

        var sources = new List<IpPrefix> { node.PodCidr };
        if (node.PodCidrV6 is { } podCidr6)
        {
            sources.Add(podCidr6);
        }

        IReadOnlyList<IpPrefix> inside = node.External.NonMasqueradeCidrs ?? DefaultInside(config);
        IpAddress[] addresses = node.Uplink.IpV6 is { } up6 ? [node.Uplink.Ip, up6] : [node.Uplink.Ip];
        return new MasqueradePolicy([.. sources], [.. inside], addresses);
    }

    private static List<IpPrefix> DefaultInside(NodeConfig config)
    {
        var inside = new List<IpPrefix> { config.Node.PodCidr };
        if (config.Node.PodCidrV6 is { } podCidr6)
        {
            inside.Add(podCidr6);
        }

        foreach (RouteConfig route in config.Routes)
        {
            inside.Add(route.Cidr);
        }

        return inside;
    }

    /// <summary>
    /// Our own addresses are host routes to ip-local (the uplink's go to the kernel with a host port); the pod CIDR
    /// answers host unreachable but where a pod is (each pod's host route, straight to its port and MAC, is
    /// <see cref="PodController"/>'s); other nodes' CIDRs go to their next hop on the uplink; the uplink's subnet and
    /// default routes are <see cref="UplinkRoutes"/>'.
    /// </summary>
    private void BuildRoutes()
    {
        NodeSettings node = Config.Node;
        int local = Adjacencies.Add(new Adjacency { Kind = AdjacencyKind.Local, Port = PortIds.None, Static = true });
        AddRoute(new IpPrefix(node.GatewayIp, 32), local);
        if (node.GatewayIpV6 is { } gateway6)
        {
            AddRoute(new IpPrefix(gateway6, 128), local);
        }

        if (node.Uplink is { } uplink)
        {
            UplinkRoutes(uplink, local);
        }

        int subnet = Adjacencies.Add(new Adjacency { Kind = AdjacencyKind.PodSubnet, Port = PortIds.None, Static = true });
        AddRoute(node.PodCidr, subnet);
        if (node.PodCidrV6 is { } podCidr6)
        {
            AddRoute(podCidr6, subnet);
        }

        foreach (RouteConfig route in Config.Routes)
        {
            int adjacency = Adjacencies.AddNextHop(route.Via, Uplink!.Id, route.ViaMac);
            if (route.VtepMac is { } vtepMac)
            {
                // VXLAN: the VTEP's IP is an ordinary next hop on the uplink (ARP resolves it, readiness waits for it);
                // the route's own adjacency says to encapsulate toward it.
                adjacency = Adjacencies.Add(new Adjacency
                {
                    Kind = AdjacencyKind.Vxlan, Port = Uplink.Id, NextHop = route.Via, Static = true, VtepMac = vtepMac.Value, Underlay = adjacency,
                });
            }

            AddRoute(route.Cidr, adjacency);
        }
    }

    /// <summary>
    /// Room for every route <see cref="BuildRoutes"/> and the pods insert, so a valid config never finds the FIB full:
    /// an IPv4 prefix longer than /24 takes the tbl8 group of its /24 (every /24 of the pod CIDR may hold pods), an
    /// IPv6 one at most a trie node per level (per pod: <paramref name="maxPods"/> of them). At least 1,024 groups and
    /// 4,096 nodes, what a node has always had.
    /// </summary>
    private static (int Ip4Groups, int Ip6Nodes) FibCapacity(NodeConfig config, int maxPods)
    {
        var blocks = new HashSet<uint>();
        long nodes = 0;
        void Count(IpPrefix prefix)
        {
            if (prefix.IsV4)
            {
                if (prefix.Length > 24)
                {
                    blocks.Add(prefix.Address.V4.Value >> 8);
                }
            }
            else
            {
                nodes += Fib6.MaxNodesFor(prefix.Length);
            }
        }

        NodeSettings node = config.Node;
        Count(node.PodCidr);
        if (node.PodCidrV6 is { } podCidr6)
        {
            Count(podCidr6);
        }

        Count(new IpPrefix(node.GatewayIp, 32));
        if (node.GatewayIpV6 is { } gateway6)
        {
            Count(new IpPrefix(gateway6, 128));
        }

        if (node.Uplink is { } uplink)
        {
            Count(new IpPrefix(uplink.Ip, 32));
            if (uplink.IpV6 is { } uplink6)
            {
                Count(new IpPrefix(uplink6, 128));
            }
        }

        int podBlocks = node.PodCidr.Length >= 24 ? 1 : 1 << Math.Min(24 - node.PodCidr.Length, 16);
        int groups = blocks.Count + Math.Min(podBlocks, maxPods);
        if (node.PodCidrV6 is not null)
        {
            nodes += (long)maxPods * Fib6.MaxNodesFor(128);
        }

        foreach (RouteConfig route in config.Routes)
        {
            Count(route.Cidr);
        }

        if (node.Uplink is { } connected)
        {
            Count(IpPrefix.Containing(connected.Ip, connected.PrefixLength));
            if (connected.IpV6 is { } connected6)
            {
                Count(IpPrefix.Containing(connected6, connected.PrefixLengthV6));
            }
        }

        if (node.Uplink is { } learning)
        {
            // Learned routes (RouteController): pod CIDRs of other nodes, /24 or shorter in IPv4 (no tbl8 group; a
            // few hundred spare for longer ones), /64 in IPv6. Unused trie nodes cost address space, not memory.
            groups += 256;
            if (learning.IpV6 is not null)
            {
                nodes += (long)(RouteController.MaxRoutes / 2) * Fib6.MaxNodesFor(64);
            }
        }

        return (Math.Clamp(groups, 1024, Fib4.MaxGroupCapacity), (int)Math.Clamp(nodes, 4096, Fib6.MaxNodeCapacity));
    }

    internal void AddRoute(IpPrefix prefix, int adjacency)
    {
        // Sized from the config (FibCapacity) and next hops limited by NodeRules, so only a bug gets here.
        FibResult result = Fib.Insert(prefix, adjacency);
        if (result is not (FibResult.Added or FibResult.Replaced))
        {
            throw new InvalidOperationException($"{Config.Source}: route {prefix}: {result}");
        }
    }
}
