using Dataplane.Packets;

namespace Dataplane.Model;

/// <summary>
/// A validated node configuration: everything the dataplane needs to build its ports, tables and nodes.
/// Produced by the config layer (Dataplane.Config's NodeConfigLoader), so holders can rely on every invariant it
/// checks (addresses inside the pod CIDR, unique names/IPs/MACs, known next hops, <see cref="ServiceRules"/>).
/// Plain data: no YAML, no files; equality is structural, lists compared item by item.
/// </summary>
public sealed record NodeConfig(
    NodeSettings Node,
    IReadOnlyList<PodConfig> Pods,
    IReadOnlyList<RouteConfig> Routes,
    IReadOnlyList<ServiceConfig> Services,
    ConntrackConfig Conntrack,
    DataplaneSettings Dataplane)
{
    /// <summary>Where it was read from, for messages (a path, or a label like "embedded demo").</summary>
    public string Source { get; init; } = "";

    /// <summary><see cref="DataplaneSettings.ControlSocket"/> with <c>{node}</c> replaced by this node's name.</summary>
    public string ControlSocketPath => ExpandControlSocket(Dataplane.ControlSocket, Node.Name);

    /// <summary><see cref="DataplaneSettings.StateDirectory"/> with <c>{node}</c> replaced by this node's name.</summary>
    public string StateDirectoryPath => ExpandControlSocket(Dataplane.StateDirectory, Node.Name);

    /// <summary>The one place that knows the <c>{node}</c> placeholder, so the loader's length check and the daemon agree.</summary>
    public static string ExpandControlSocket(string template, string nodeName)
        => template.Replace("{node}", nodeName, StringComparison.Ordinal);

    /// <summary>Structural: the lists are compared item by item (a record alone would compare their references).</summary>
    public bool Equals(NodeConfig? other)
        => other is not null && (ReferenceEquals(this, other) || (Node == other.Node
            && Lists.Equal(Pods, other.Pods) && Lists.Equal(Routes, other.Routes) && Lists.Equal(Services, other.Services)
            && Conntrack == other.Conntrack && Dataplane == other.Dataplane && Source == other.Source));

    public override int GetHashCode()
        => HashCode.Combine(Node, Lists.Hash(Pods), Lists.Hash(Routes), Lists.Hash(Services), Conntrack, Dataplane, Source);
}

/// <summary>The <c>node:</c> section.</summary>
public sealed record NodeSettings(
    string Name,
    IpPrefix PodCidr,
    IpPrefix? PodCidrV6,
    Ip4Address GatewayIp,
    Ip6Address? GatewayIpV6,
    MacAddress Mac,
    int Mtu,
    UplinkConfig? Uplink,
    HostPortConfig? HostPort = null,
    VxlanConfig? Vxlan = null)
{
    /// <summary>Traffic between the cluster and the outside: node ports, masquerade, address announcements.</summary>
    public ExternalTraffic External { get; init; } = ExternalTraffic.Default;
}

/// <summary>
/// The <c>node.vxlan:</c> section: this node's VXLAN tunnel endpoint (RFC 7348) on the uplink IP, as flannel's vxlan
/// backend programs a Linux <c>vxlan</c> device: the VNI, the UDP port it listens on and the MAC inner frames carry.
/// </summary>
public sealed record VxlanConfig(int Vni, ushort Port, MacAddress Mac)
{
    /// <summary>flannel's VNI.</summary>
    public const int DefaultVni = 1;

    /// <summary>flannel's and the Linux default port (IANA's is 4789).</summary>
    public const ushort DefaultPort = 8472;

    /// <summary>Outer Ethernet, IPv4, UDP and VXLAN headers: what a pod's MTU must leave room for under the uplink's.</summary>
    public const int Overhead = 14 + 20 + 8 + 8;
}

/// <summary>
/// The node's side of external traffic (keys under <c>node:</c>):
/// <list type="bullet">
/// <item><c>nodePortRange</c>: where services' nodePorts may lie (kube-apiserver's --service-node-port-range).</item>
/// <item><c>masquerade</c>: pod traffic to a destination outside <see cref="NonMasqueradeCidrs"/> leaves with the
/// node's address (ip-masq-agent's nonMasqueradeCIDRs; null means every pod CIDR the node knows: its own and each
/// route's). Source ports for it and for SNATed NodePort traffic come from <see cref="SnatPortMin"/>..<see
/// cref="SnatPortMax"/> without the node-port range (a flow keeps its own when it can, as nf_nat does).</item>
/// <item><c>announceExternalIps</c>: answer ARP/ND on the uplink for externalIPs and load-balancer IPs (MetalLB's
/// L2 mode); off, a router must route them to the node.</item>
/// </list>
/// </summary>
public sealed record ExternalTraffic(
    int NodePortMin,
    int NodePortMax,
    bool Masquerade,
    IReadOnlyList<IpPrefix>? NonMasqueradeCidrs,
    int SnatPortMin,
    int SnatPortMax,
    bool AnnounceExternalIps)
{
    public static ExternalTraffic Default { get; } = new(30000, 32767, true, null, 1024, 65535, false);

    public bool Equals(ExternalTraffic? other)
        => other is not null && NodePortMin == other.NodePortMin && NodePortMax == other.NodePortMax && Masquerade == other.Masquerade
            && Lists.Equal(NonMasqueradeCidrs, other.NonMasqueradeCidrs) && SnatPortMin == other.SnatPortMin
            && SnatPortMax == other.SnatPortMax && AnnounceExternalIps == other.AnnounceExternalIps;

    public override int GetHashCode() => HashCode.Combine(NodePortMin, NodePortMax, Masquerade, Lists.Hash(NonMasqueradeCidrs), SnatPortMin, SnatPortMax, AnnounceExternalIps);
}

/// <summary>
/// The <c>node.uplink:</c> section: the port toward other nodes (a raw socket on a host interface). Its subnet is a
/// connected route (hosts resolved one by one with ARP/ND); <see cref="Gateway"/> and <see cref="GatewayV6"/> are
/// the default routes' next hops on it, <see cref="GatewayMac"/> the IPv4 gateway's MAC when it is not to be ARPed for.
/// </summary>
public sealed record UplinkConfig(
    string Interface,
    Ip4Address Ip,
    int PrefixLength,
    Ip6Address? IpV6,
    int PrefixLengthV6,
    MacAddress Mac,
    int Mtu,
    Ip4Address? Gateway = null,
    MacAddress? GatewayMac = null,
    Ip6Address? GatewayV6 = null);

/// <summary>One <c>pods[]</c> entry. The pod's port is named after the pod.</summary>
public sealed record PodConfig(
    string Name,
    Ip4Address Ip,
    Ip6Address? IpV6,
    MacAddress Mac,
    string? Netns);

/// <summary>
/// One <c>routes[]</c> entry: another node's pod CIDR reached through the uplink, either routed to <see cref="Via"/>
/// (host-gw) or, when <see cref="VtepMac"/> is set, VXLAN-encapsulated to the VTEP at <see cref="Via"/> (the route's
/// <c>vtep</c>), inner frames addressed to <see cref="VtepMac"/>.
/// </summary>
public sealed record RouteConfig(IpPrefix Cidr, IpAddress Via, MacAddress? ViaMac, MacAddress? VtepMac = null)
{
    public bool IsVxlan => VtepMac is not null;
}

public enum SessionAffinity
{
    None,
    ClientIP,
}

public enum Scheduler
{
    Maglev,
    Random,
    RoundRobin,
    LeastConn,
}

public enum L4Protocol : byte
{
    Tcp = 6,
    Udp = 17,
    Sctp = 132,
}

public enum ServiceType
{
    ClusterIP,
    NodePort,
    LoadBalancer,
}

/// <summary><c>externalTrafficPolicy</c> / <c>internalTrafficPolicy</c>: every endpoint, or only this node's.</summary>
public enum TrafficPolicy
{
    Cluster,
    Local,
}

/// <summary>One <c>services[]</c> entry, shaped like a Kubernetes Service plus its EndpointSlice.</summary>
public sealed record ServiceConfig(
    string Name,
    Ip4Address? ClusterIp,
    Ip6Address? ClusterIpV6,
    SessionAffinity SessionAffinity,
    int AffinityTimeoutSeconds,
    Scheduler Scheduler,
    IReadOnlyList<ServicePortConfig> Ports,
    IReadOnlyList<EndpointConfig> Endpoints)
{
    /// <summary>How it is reached from outside the cluster (NodePort, LoadBalancer, external IPs) and which endpoints each entrance uses.</summary>
    public ServiceExposure Exposure { get; init; } = ServiceExposure.ClusterIpOnly;

    /// <summary>
    /// Structural, so a controller can tell a changed service from an unchanged one: ports and endpoints are compared
    /// item by item, in order (a reordered list is a change here; the service table then finds nothing to rebuild).
    /// </summary>
    public bool Equals(ServiceConfig? other)
        => other is not null && (ReferenceEquals(this, other) || (Name == other.Name && ClusterIp == other.ClusterIp
            && ClusterIpV6 == other.ClusterIpV6 && SessionAffinity == other.SessionAffinity
            && AffinityTimeoutSeconds == other.AffinityTimeoutSeconds && Scheduler == other.Scheduler
            && Lists.Equal(Ports, other.Ports) && Lists.Equal(Endpoints, other.Endpoints) && Exposure == other.Exposure));

    public override int GetHashCode()
        => HashCode.Combine(Name, ClusterIp, ClusterIpV6, SessionAffinity, AffinityTimeoutSeconds, Scheduler, Lists.Hash(Ports), HashCode.Combine(Lists.Hash(Endpoints), Exposure));
}

/// <summary>
/// A Service's entrances other than its cluster IPs, with Kubernetes' names: <c>type</c> (a NodePort or LoadBalancer
/// service serves each port's <c>nodePort</c> on the node's addresses), <c>externalIPs</c>,
/// <c>status.loadBalancer.ingress</c> IPs, the traffic policies, <c>healthCheckNodePort</c> and
/// <c>loadBalancerSourceRanges</c>.
/// </summary>
public sealed record ServiceExposure(
    ServiceType Type,
    IReadOnlyList<IpAddress> ExternalIps,
    IReadOnlyList<IpAddress> LoadBalancerIps,
    TrafficPolicy ExternalTrafficPolicy,
    TrafficPolicy InternalTrafficPolicy,
    ushort? HealthCheckNodePort,
    IReadOnlyList<IpPrefix> LoadBalancerSourceRanges)
{
    public static ServiceExposure ClusterIpOnly { get; } = new(ServiceType.ClusterIP, [], [], TrafficPolicy.Cluster, TrafficPolicy.Cluster, null, []);

    /// <summary>Whether node ports are served (type NodePort or LoadBalancer, as Kubernetes allocates them).</summary>
    public bool HasNodePorts => Type != ServiceType.ClusterIP;

    public bool Equals(ServiceExposure? other)
        => other is not null && (ReferenceEquals(this, other) || (Type == other.Type && ExternalTrafficPolicy == other.ExternalTrafficPolicy
            && InternalTrafficPolicy == other.InternalTrafficPolicy && HealthCheckNodePort == other.HealthCheckNodePort
            && Lists.Equal(ExternalIps, other.ExternalIps) && Lists.Equal(LoadBalancerIps, other.LoadBalancerIps)
            && Lists.Equal(LoadBalancerSourceRanges, other.LoadBalancerSourceRanges)));

    public override int GetHashCode()
        => HashCode.Combine(Type, ExternalTrafficPolicy, InternalTrafficPolicy, HealthCheckNodePort, Lists.Hash(ExternalIps), Lists.Hash(LoadBalancerIps), Lists.Hash(LoadBalancerSourceRanges));
}

/// <summary>One service port; <c>nodePort</c> is served on the node's addresses when the service's type is NodePort or LoadBalancer.</summary>
public sealed record ServicePortConfig(string? Name, L4Protocol Protocol, ushort Port, ushort TargetPort, ushort? NodePort);

/// <summary>
/// One endpoint. <paramref name="NodeName"/> is the EndpointSlice's <c>nodeName</c>: it tells the traffic policies
/// which endpoints are this node's; without it, an endpoint inside this node's pod CIDRs is local.
/// </summary>
public sealed record EndpointConfig(IpAddress Ip, int Weight, bool Terminating, string? NodeName = null)
{
    /// <summary>
    /// This endpoint's own port for each of the service's ports, in the order of <see cref="ServiceConfig.Ports"/>;
    /// null when every endpoint takes the port's <see cref="ServicePortConfig.TargetPort"/>. EndpointSlices give each
    /// slice its own port numbers (a named <c>targetPort</c> resolves per pod, and differs across a rolling update
    /// that renumbers the container port), so a service's endpoints may disagree.
    /// </summary>
    public IReadOnlyList<ushort>? TargetPorts { get; init; }

    public bool Equals(EndpointConfig? other)
        => other is not null && (ReferenceEquals(this, other) || (Ip == other.Ip && Weight == other.Weight && Terminating == other.Terminating
            && NodeName == other.NodeName && Lists.Equal(TargetPorts, other.TargetPorts)));

    public override int GetHashCode() => HashCode.Combine(Ip, Weight, Terminating, NodeName, Lists.Hash(TargetPorts));

    /// <summary>Where this endpoint listens for the service's port number <paramref name="portIndex"/>.</summary>
    public ushort TargetPortFor(int portIndex, ServicePortConfig port)
        => TargetPorts is { } own ? own[portIndex] : port.TargetPort != 0 ? port.TargetPort : port.Port;
}

/// <summary>
/// The <c>conntrack:</c> section. Timeouts in seconds. <see cref="Accounting"/> counts packets and bytes per flow
/// and direction (nf_conntrack_acct; off by default like the kernel's, for its 32 bytes per entry and a counter
/// write per packet).
/// </summary>
public sealed record ConntrackConfig(int MaxEntries, ConntrackTimeouts Timeouts, bool Accounting = false)
{
    public static ConntrackConfig Default { get; } = new(1 << 20, ConntrackTimeouts.Default);

    /// <summary>Each pod's share of the table and of new flows (<c>conntrack.perPod</c>).</summary>
    public ConntrackPodLimits PerPod { get; init; } = ConntrackPodLimits.Default;
}

/// <summary>
/// The <c>conntrack.perPod</c> section: how much of conntrack one pod may use, so a pod flooding new flows cannot deny
/// new connections to the others. <see cref="MaxEntries"/> null means a quarter of the table: it then takes four
/// flooding pods to fill it, and early drop of unanswered flows still makes room after that. The rate's default is
/// above what a whole node's kernel path was measured to open (26,000 connections/s through a ClusterIP,
/// perf/results/2026-11-30-0120-sidebyside.md), so no real client of one pod meets it.
/// </summary>
public sealed record ConntrackPodLimits(int? MaxEntries, int NewFlowsPerSecond, int Burst)
{
    public const int MaxRate = 10_000_000;

    public static ConntrackPodLimits Default { get; } = new(null, 30_000, 60_000);

    /// <summary>The live entries one pod may hold in a table of <paramref name="tableEntries"/>.</summary>
    public int EntriesFor(int tableEntries) => MaxEntries ?? Math.Max(1, tableEntries / 4);
}

/// <summary>Defaults follow nf_conntrack's (net/netfilter/nf_conntrack_proto_tcp.c), except tcpEstablished 86400 as kube-proxy sets it.</summary>
public sealed record ConntrackTimeouts(
    int TcpEstablished,
    int TcpSynSent,
    int TcpSynRecv,
    int TcpFinWait,
    int TcpCloseWait,
    int TcpLastAck,
    int TcpTimeWait,
    int TcpClose,
    int Udp,
    int UdpStream,
    int Icmp)
{
    public static ConntrackTimeouts Default { get; } = new(
        TcpEstablished: 86400, TcpSynSent: 120, TcpSynRecv: 60, TcpFinWait: 120, TcpCloseWait: 3600, TcpLastAck: 30,
        TcpTimeWait: 120, TcpClose: 10, Udp: 30, UdpStream: 120, Icmp: 30);
}

/// <summary>How a worker reads and writes its ports' frames (<c>dataplane.io</c>).</summary>
public enum WorkerIo
{
    /// <summary>epoll_wait, then one read() per frame until EAGAIN and one write() per output frame.</summary>
    Syscalls,

    /// <summary>
    /// io_uring through native/libdpuring.so: a multishot read stays armed on every fd, and each loop submits
    /// the batch's writes and reaps the reads in one system call. Falls back to <see cref="Syscalls"/> (and says
    /// so) when the library or io_uring is unavailable. Not the default: on 2 cores it moved offloaded TCP
    /// 7-16% faster but 64-byte frames 6-8% and new connections 6% slower than read/write, whose per-frame
    /// system calls turned out not to be the bound (perf/results/2026-11-26-0959-sidebyside.md).
    /// </summary>
    Uring,
}

/// <summary>The optional <c>dataplane:</c> section: engine tuning, with defaults good for a node.</summary>
public sealed record DataplaneSettings(
    int BatchSize,
    int Workers,
    int MacTableCapacity,
    int MacAgingSeconds,
    int IcmpErrorsPerSecond,
    int IcmpErrorBurst,
    string ControlSocket,
    bool Offloads,
    int BusyPollMicroseconds,
    WorkerIo Io = WorkerIo.Syscalls,
    string? MetricsAddress = null,
    int MaxPods = DataplaneSettings.DefaultMaxPods,
    string StateDirectory = DataplaneSettings.DefaultStateDirectory,
    string? ControlGroup = null,
    int ControlMaxConnections = DataplaneSettings.DefaultControlMaxConnections,
    int ControlIdleTimeoutSeconds = DataplaneSettings.DefaultControlIdleTimeoutSeconds,
    int ControlRequestTimeoutSeconds = DataplaneSettings.DefaultControlRequestTimeoutSeconds)
{
    /// <summary>
    /// What must outlive the process lives here (<c>{node}</c> becomes the node's name): conntrack's mapped file and
    /// the record of what the daemon created. Under /run by default: a tmpfs, so a reboot (which ends every flow and
    /// namespace anyway) starts clean.
    /// </summary>
    public const string DefaultStateDirectory = "/run/dataplane/{node}";

    /// <summary>Kubernetes' default max-pods is 110; room for twice that and more, at a few KiB per port.</summary>
    public const int DefaultMaxPods = 256;

    /// <summary>
    /// Room for a runtime's burst of CNI ADDs, a few `ctl --watch` and `flows --follow` at once; each connection is
    /// one file descriptor and a small task, so the cap is what keeps a flood of them from exhausting the daemon.
    /// </summary>
    public const int DefaultControlMaxConnections = 64;

    /// <summary>`ctl` and the CNI plugin send their request as soon as they connect; 10 s is ample even under load.</summary>
    public const int DefaultControlIdleTimeoutSeconds = 10;

    /// <summary>
    /// A request's answer is built and written within this (beyond the seconds a trace waits): a slow command or a
    /// client that stops reading gives its connection back rather than holding it.
    /// </summary>
    public const int DefaultControlRequestTimeoutSeconds = 60;

    /// <summary>
    /// Offloads on: TAPs and the uplink carry virtio-net headers, so TCP moves as 64 KiB segments with partial checksums.
    /// BusyPollMicroseconds: after traffic, a worker polls its fds this long before sleeping in epoll_wait (Linux's
    /// net.core.busy_poll idea), so a request/response exchange does not pay a thread wake-up each way; 0 turns it off.
    /// Io: how workers move frames between the port fds and their batch (<see cref="WorkerIo"/>).
    /// MaxPods: ports kept for pods, static and added at run time (`ctl pod add`, the CNI plugin); every per-port
    /// array of the pipeline is this long, so adding a pod never resizes anything a worker reads. At least the
    /// number of static pods.
    /// MetricsAddress: IP:PORT where /metrics, /healthz and /readyz are served over HTTP; null (the default) serves
    /// them only through the control socket (`ctl metrics`).
    /// ControlGroup: a group (name or gid) whose members may use the control socket besides root; null (the default)
    /// is root only. The socket file is 0660 with that group, else 0600; every connection's peer is checked too
    /// (SO_PEERCRED), so a loosened file mode does not let others in.
    /// ControlMaxConnections: control connections open at once; one more is refused at once with a short error.
    /// ControlIdleTimeoutSeconds: a connection that has not sent a complete request by then is closed (streams that
    /// have started, `flows --follow` and `capture`, are not idle).
    /// ControlRequestTimeoutSeconds: how long a request's answer may take, beyond the seconds a trace asks to wait.
    /// </summary>
    public static DataplaneSettings Default { get; } = new(
        BatchSize: 256, Workers: 1, MacTableCapacity: 4096, MacAgingSeconds: 300, IcmpErrorsPerSecond: 1000, IcmpErrorBurst: 50,
        ControlSocket: "/run/dataplane/{node}.sock", Offloads: true, BusyPollMicroseconds: 50);

    /// <summary>An IP literal and a port (`127.0.0.1:9641`, `[::1]:9641`): the HTTP listener binds exactly there, no name lookup.</summary>
    public static string? MetricsAddressProblem(string address) =>
        !System.Net.IPEndPoint.TryParse(address, out System.Net.IPEndPoint? endpoint) || !address.Contains(':', StringComparison.Ordinal)
            ? $"'{address}' is not IP:PORT (e.g. 127.0.0.1:9641 or [::1]:9641)"
            : endpoint.Port == 0 || (endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !address.StartsWith('['))
                ? $"'{address}' needs a port 1-65535 (IPv6 in brackets: [::1]:9641)"
                : null;
}

/// <summary>Item-by-item equality for the model's list members.</summary>
internal static class Lists
{
    public static bool Equal<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.Count != b.Count)
        {
            return false;
        }

        EqualityComparer<T> comparer = EqualityComparer<T>.Default;
        for (int i = 0; i < a.Count; i++)
        {
            if (!comparer.Equals(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    public static int Hash<T>(IReadOnlyList<T>? list)
    {
        if (list is null)
        {
            return 0;
        }

        var hash = new HashCode();
        foreach (T item in list)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }
}
