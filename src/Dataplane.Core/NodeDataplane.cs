using Dataplane.Config;
using Dataplane.Conntrack;
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
public sealed class NodeDataplane
{
    /// <summary>Stage order; every stage only sends to stages after it.</summary>
    public static readonly IReadOnlyList<string> StageOrder =
    [
        "ethernet-input", "arp-input", "ip4-input", "ip6-input", "source-guard", "arp", "ndp", "conntrack", "bridge",
        "ip4-lookup", "ip6-lookup", "ip-local", "icmp-error", "interface-output",
    ];

    private readonly Dictionary<string, Port> _portsByName = new(StringComparer.Ordinal);

    public NodeDataplane(NodeConfig config)
    {
        Config = config;
        NodeSettings node = config.Node;
        var ports = new List<Port>();
        if (node.Uplink is { } uplink)
        {
            Uplink = new Port((ushort)ports.Count, "uplink", PortKind.Uplink, uplink.Mac, uplink.Ip, uplink.IpV6, uplink.Mtu);
            ports.Add(Uplink);
        }

        foreach (PodConfig pod in config.Pods)
        {
            ports.Add(new Port((ushort)ports.Count, pod.Name, PortKind.Pod, pod.Mac, pod.Ip, pod.IpV6, node.Mtu));
        }

        Ports = ports;
        foreach (Port port in ports)
        {
            _portsByName.Add(port.Name, port);
        }

        Local = new LocalAddresses(
            node.Mac, node.GatewayIp, node.GatewayIpV6,
            node.Uplink?.Mac ?? MacAddress.Zero, node.Uplink?.Ip ?? Ip4Address.Any, node.Uplink?.IpV6);
        MacTable = new MacTable(config.Dataplane.MacTableCapacity, config.Dataplane.MacAgingSeconds);
        Adjacencies = new AdjacencyTable(capacity: 16 + ports.Count + config.Routes.Count);
        Fib = new Fib(ip4GroupCapacity: 1024, ip6NodeCapacity: 4096);
        BuildRoutes();

        Services = new ServiceTable();
        Timeouts = new ConntrackTimeoutTable(config.Conntrack.Timeouts);
        Conntrack = new ConntrackTable(config.Conntrack.MaxEntries, node.GatewayIp, node.GatewayIpV6 is { } g6 ? g6 : default(IpAddress))
        {
            ServiceFlowEnded = flow => Services.ReleaseConnection(
                new ServiceKey(flow.Original.Destination, (L4Protocol)flow.Original.Protocol, flow.Original.DestinationPort), flow.BackendId),
        };
        foreach (ServiceConfig service in config.Services)
        {
            ServiceUpdate update = ApplyService(service);
            if (!update.Succeeded)
            {
                throw new InvalidOperationException($"{config.Source}: service {service.Name}: {string.Join("; ", update.Errors)}");
            }
        }
    }

    public NodeConfig Config { get; }

    public IReadOnlyList<Port> Ports { get; }

    public Port? Uplink { get; }

    public LocalAddresses Local { get; }

    public MacTable MacTable { get; }

    public AdjacencyTable Adjacencies { get; }

    public Fib Fib { get; }

    public ServiceTable Services { get; }

    public ConntrackTable Conntrack { get; }

    public ConntrackTimeoutTable Timeouts { get; }

    /// <summary>
    /// Adds or replaces one service. Flows of endpoints it no longer has are removed from conntrack at once,
    /// TCP and UDP alike, so clients re-balance instead of black-holing (the stale UDP conntrack bug);
    /// flows of endpoints that stay, terminating ones included, are untouched.
    /// </summary>
    public ServiceUpdate ApplyService(ServiceConfig service)
    {
        ServiceUpdate update = Services.Apply(service);
        FlushRemovedBackends(update);
        return update;
    }

    /// <summary>Removes a service and every flow it balanced.</summary>
    public ServiceUpdate RemoveService(string name)
    {
        ServiceUpdate update = Services.Remove(name);
        FlushRemovedBackends(update);
        return update;
    }

    public bool TryGetPort(string name, out Port port) => _portsByName.TryGetValue(name, out port!);

    /// <summary>A graph of fresh stages (their own counters) over the shared tables, for one worker.</summary>
    /// <param name="sweeper">The worker's stripe of conntrack to expire (one per worker); by default the whole table.</param>
    public Graph CreateGraph(PacketBatch batch, PacketTracer? tracer = null, ConntrackSweeper? sweeper = null)
    {
        DataplaneSettings settings = Config.Dataplane;
        var conntrack = new Nodes.Conntrack(Conntrack, Services, Timeouts, Local, sweeper);
        Node[] nodes =
        [
            new EthernetInput(Ports, Local.UplinkMac),
            new ArpInput(),
            new Ip4Input(),
            new Ip6Input(),
            new SourceGuard(Ports, "conntrack"),
            new Arp(Ports, Local, Adjacencies, MacTable),
            new Ndp(Ports, Local, Adjacencies),
            conntrack,
            new Bridge(Ports, Local, MacTable),
            new Ip4Lookup(Ports, Local, Fib, Adjacencies),
            new Ip6Lookup(Ports, Local, Fib, Adjacencies),
            new IpLocal(Ports, Local),
            new IcmpError(Ports, Local, settings.IcmpErrorsPerSecond, settings.IcmpErrorBurst, conntrack),
            new InterfaceOutput(Ports),
        ];
        return new Graph(nodes, batch, Ports, tracer);
    }

    /// <summary>
    /// Our own addresses are host routes to ip-local; each pod is a host route straight to its port and MAC
    /// (one lookup gives the whole rewrite, as DPDK's l3fwd does); the rest of the pod CIDR answers host
    /// unreachable; other nodes' CIDRs go to their next hop on the uplink.
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
            AddRoute(new IpPrefix(uplink.Ip, 32), local);
            if (uplink.IpV6 is { } uplink6)
            {
                AddRoute(new IpPrefix(uplink6, 128), local);
            }
        }

        int subnet = Adjacencies.Add(new Adjacency { Kind = AdjacencyKind.PodSubnet, Port = PortIds.None, Static = true });
        AddRoute(node.PodCidr, subnet);
        if (node.PodCidrV6 is { } podCidr6)
        {
            AddRoute(podCidr6, subnet);
        }

        foreach (PodConfig pod in Config.Pods)
        {
            ushort port = _portsByName[pod.Name].Id;
            int adjacency = Adjacencies.Add(new Adjacency { Kind = AdjacencyKind.Pod, Port = port, Mac = pod.Mac.Value, Static = true });
            AddRoute(new IpPrefix(pod.Ip, 32), adjacency);
            if (pod.IpV6 is { } ip6)
            {
                AddRoute(new IpPrefix(ip6, 128), adjacency);
            }
        }

        foreach (RouteConfig route in Config.Routes)
        {
            int adjacency = Adjacencies.AddNextHop(route.Via, Uplink!.Id, route.ViaMac);
            AddRoute(route.Cidr, adjacency);
        }
    }

    /// <summary>One pass over conntrack for all of an update's removed backends (a service change may drop many).</summary>
    private void FlushRemovedBackends(ServiceUpdate update)
    {
        if (update.RemovedBackends.Count == 0)
        {
            return;
        }

        var removed = new HashSet<(ulong VipHi, ulong VipLo, ushort Port, byte Protocol, ulong BackendHi, ulong BackendLo, ushort BackendPort)>();
        foreach (RemovedBackend backend in update.RemovedBackends)
        {
            Ip6Address vip = backend.Frontend.Vip.Bits;
            removed.Add((vip.Hi, vip.Lo, backend.Frontend.Port, (byte)backend.Frontend.Protocol, backend.Ip.Bits.Hi, backend.Ip.Bits.Lo, backend.Port));
        }

        Conntrack.RemoveWhere(flow => (flow.Flags & FlowFlags.Service) != 0 && removed.Contains((
            flow.Original.DestinationHi, flow.Original.DestinationLo, flow.Original.DestinationPort, flow.Original.Protocol,
            flow.NatHi, flow.NatLo, flow.NatPort)));
    }

    private void AddRoute(IpPrefix prefix, int adjacency)
    {
        FibResult result = Fib.Insert(prefix, adjacency);
        if (result is not (FibResult.Added or FibResult.Replaced))
        {
            throw new InvalidOperationException($"{Config.Source}: route {prefix}: {result}");
        }
    }
}
