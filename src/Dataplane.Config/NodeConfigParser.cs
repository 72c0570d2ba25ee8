using Dataplane.Model;
using Dataplane.Packets;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Config;

/// <summary>
/// Walks one config document section by section (node, pods, routes, services, conntrack, dataplane), checking
/// each value where it is read. The node section goes first because every later rule is relative to it, so its
/// facts are kept in fields; a fact that was missing or invalid stays null and the rules that need it are skipped,
/// so a bad <c>podCidr</c> is one error rather than one more for every pod. One partial file per section.
/// </summary>
internal sealed partial class NodeConfigParser
{
    private static readonly string[] s_rootKeys = ["node", "pods", "routes", "services", "conntrack", "dataplane"];
    private static readonly string[] s_nodeKeys =
        ["name", "podCidr", "podCidrV6", "gatewayIp", "gatewayIpV6", "mac", "mtu", "uplink", "hostPort", "vxlan", "nodePortRange", "masquerade", "announceExternalIps"];
    private static readonly string[] s_uplinkKeys = ["interface", "ip", "ipV6", "mac", "mtu", "gateway", "gatewayMac", "gatewayV6"];

    /// <summary>The lowest MTU an IPv6 link may have (RFC 8200 section 5).</summary>
    private const int MinIpv6Mtu = 1280;

    private readonly ConfigReader _reader;

    private string? _nodeName;
    private IpPrefix? _podCidr;
    private IpPrefix? _podCidrV6;

    // Whether the key is set at all, valid or not: it decides whether IPv6 pod addresses are allowed, and an
    // invalid podCidrV6 is already reported, so pods should not also say "needs podCidrV6".
    private bool _hasPodCidrV6;
    private Ip4Address? _gateway;
    private Ip6Address? _gatewayV6;
    private bool _gatewayV6Defaulted;
    private MacAddress? _nodeMac;

    private bool _hasUplink;
    private bool _hasUplinkIpV6;
    private Ip4Address? _uplinkIp;
    private IpPrefix? _uplinkSubnet;
    private Ip6Address? _uplinkIpV6;
    private IpPrefix? _uplinkSubnetV6;
    private MacAddress? _uplinkMac;

    // node.vxlan: whether it is set at all (routes with vtep need it; an invalid one is reported once), and its MAC.
    private bool _hasVxlan;
    private MacAddress? _vxlanMac;

    // Services already running that the document may add to (ctl service apply); empty for a whole config.
    private readonly IReadOnlyList<ServiceConfig> _applied;

    // What the API server says about this node (a --kubeconfig or --objects run), filling in the node keys the file
    // leaves out; null for a file that must say everything itself.
    private readonly ClusterNodeIdentity? _cluster;

    public NodeConfigParser(ConfigReader reader, IReadOnlyList<ServiceConfig> applied, ClusterNodeIdentity? cluster = null)
    {
        _reader = reader;
        _applied = applied;
        _cluster = cluster;
    }

    /// <summary>The config, or null when anything was wrong (the reader then holds the errors).</summary>
    public NodeConfig? Parse(YamlNode root)
    {
        if (_reader.Mapping(root, "", s_rootKeys) is not { } top)
        {
            return null;
        }

        NodeSettings? node = ReadNode(top);
        List<PodConfig> pods = ReadPods(top);
        CheckHostPortAgainstPods(top, pods);
        List<RouteConfig> routes = ReadRoutes(top);
        // A VXLAN route takes an adjacency of its own besides its VTEP's underlay next hop.
        int nextHops = routes.Select(static r => r.Via).Distinct().Count() + routes.Count(static r => r.IsVxlan);
        if (pods.Count + nextHops > NodeRules.MaxPodsAndNextHops)
        {
            top.Error(pods.Count > NodeRules.MaxPodsAndNextHops ? "pods" : "routes",
                $"{pods.Count} pods and {nextHops} route next hops; a node holds at most {NodeRules.MaxPodsAndNextHops} together (each is a FIB next hop)");
        }

        List<ServiceConfig> services = ReadServices(top);
        ConntrackConfig conntrack = ReadConntrack(top);
        DataplaneSettings dataplane = ReadDataplane(top);
        return node is null || _reader.HasErrors ? null : new NodeConfig(node, pods, routes, services, conntrack, dataplane);
    }

    private NodeSettings? ReadNode(ConfigMapping top)
    {
        ConfigMapping? m = top.Has("node") || _cluster is null
            ? top.Mapping("node", s_nodeKeys, required: true)
            : _reader.Mapping(new YamlMappingNode(), "node", s_nodeKeys);
        if (m is null)
        {
            return null;
        }

        _nodeName = FromCluster(m, "name", m.String("name", required: _cluster is null), _cluster?.Name);
        if (_nodeName is not null && NameRules.DnsSubdomainProblem(_nodeName) is { } nameProblem)
        {
            m.Error("name", nameProblem);
            _nodeName = null;
        }

        _podCidr = FromCluster(m, "podCidr", m.Prefix("podCidr", required: _cluster?.PodCidr is null), _cluster?.PodCidr);
        if (_podCidr is { } cidr)
        {
            if (!cidr.IsV4)
            {
                m.Error("podCidr", $"'{cidr}' is IPv6; podCidr takes IPv4 (use podCidrV6)");
                _podCidr = null;
            }
            else if (cidr.Length > 30)
            {
                m.Error("podCidr", $"'{cidr}' is too small: a pod CIDR needs room for the gateway and at least one pod (/30 or shorter)");
                _podCidr = null;
            }
        }

        _hasPodCidrV6 = m.Has("podCidrV6") || _cluster?.PodCidrV6 is not null;
        _podCidrV6 = FromCluster(m, "podCidrV6", m.Prefix("podCidrV6"), _cluster?.PodCidrV6);
        if (_podCidrV6 is { } cidr6)
        {
            if (cidr6.IsV4)
            {
                m.Error("podCidrV6", $"'{cidr6}' is IPv4; podCidrV6 takes IPv6 (use podCidr)");
                _podCidrV6 = null;
            }
            else if (cidr6.Length > 126)
            {
                m.Error("podCidrV6", $"'{cidr6}' is too small: a pod CIDR needs room for the gateway and at least one pod (/126 or shorter)");
                _podCidrV6 = null;
            }
        }

        _gateway = m.Ip4("gatewayIp", required: _cluster is null, v6Key: "gatewayIpV6");
        if (_gateway is null && _cluster is not null && !m.Has("gatewayIp") && _podCidr is { } allocated)
        {
            _gateway = allocated.FirstHost.V4;
        }

        if (_gateway is { } gateway && _podCidr is { } podCidr)
        {
            if (!podCidr.Contains(gateway))
            {
                m.Error("gatewayIp", $"'{gateway}' is outside node.podCidr {podCidr}");
            }
            else if (AddressRules.IsReservedV4(podCidr, gateway))
            {
                m.Error("gatewayIp", $"'{gateway}' is the {NetworkOrBroadcast(podCidr, gateway)} address of node.podCidr {podCidr}");
            }
        }

        _gatewayV6 = m.Ip6("gatewayIpV6", v4Key: "gatewayIp");
        if (_gatewayV6 is { } gateway6)
        {
            if (!_hasPodCidrV6)
            {
                m.Error("gatewayIpV6", $"'{gateway6}' needs node.podCidrV6, which is not set");
            }
            else if (_podCidrV6 is { } podCidr6)
            {
                if (!podCidr6.Contains(gateway6))
                {
                    m.Error("gatewayIpV6", $"'{gateway6}' is outside node.podCidrV6 {podCidr6}");
                }
                else if (gateway6 == podCidr6.Address.V6)
                {
                    m.Error("gatewayIpV6", $"'{gateway6}' is the subnet-router anycast address of node.podCidrV6 {podCidr6} (RFC 4291 2.6.1)");
                }
            }
        }
        else if (_podCidrV6 is { } podCidr6)
        {
            _gatewayV6 = podCidr6.FirstHost.V6;
            _gatewayV6Defaulted = true;
        }

        _nodeMac = m.Mac("mac", required: _cluster is null) ?? (_cluster is not null && !m.Has("mac") ? ClusterNodeIdentity.DefaultGatewayMac : null);

        int mtu = m.Int("mtu", 576, 65535, 1500);
        if (_hasPodCidrV6 && mtu < MinIpv6Mtu)
        {
            m.Error("mtu", $"{mtu} is below {MinIpv6Mtu}, the minimum for IPv6 (RFC 8200 section 5), and node.podCidrV6 is set");
        }

        UplinkConfig? uplink = ReadUplink(m);
        ExternalTraffic external = ReadExternal(m);
        HostPortConfig? hostPort = ReadHostPort(m);
        VxlanConfig? vxlan = ReadVxlan(m);
        if (vxlan is not null && uplink is not null)
        {
            mtu = VxlanMtu(m, mtu, uplink.Mtu);
        }

        if (_nodeName is null || _podCidr is null || _gateway is null || _nodeMac is null || (_hasUplink && uplink is null) || (_hasVxlan && vxlan is null))
        {
            return null;
        }

        return new NodeSettings(_nodeName, _podCidr.Value, _podCidrV6, _gateway.Value, _gatewayV6, _nodeMac.Value, mtu, uplink, hostPort, vxlan) { External = external };
    }

    /// <summary>
    /// A node fact the cluster also states: the file's value when the cluster has none, the cluster's when the file
    /// leaves it out, and an error naming both when they differ (the API server allocates pod CIDRs; a file that
    /// disagrees would route this node's pods where no other node sends them).
    /// </summary>
    private T? FromCluster<T>(ConfigMapping m, string key, T? fromFile, T? fromCluster) where T : struct
    {
        if (fromCluster is null || !m.Has(key))
        {
            return fromFile ?? fromCluster;
        }

        if (fromFile is { } file && !file.Equals(fromCluster.Value))
        {
            m.Error(key, $"'{file}' differs from what the API server says for node {_cluster!.Name}: {fromCluster} (remove the key to take the cluster's)");
        }

        return fromFile;
    }

    private string? FromCluster(ConfigMapping m, string key, string? fromFile, string? fromCluster)
    {
        if (fromCluster is not null && fromFile is not null && fromFile != fromCluster)
        {
            m.Error(key, $"'{fromFile}' is not this node: --node-name says {fromCluster}");
        }

        return fromFile ?? fromCluster;
    }

    private UplinkConfig? ReadUplink(ConfigMapping node)
    {
        _hasUplink = node.Has("uplink");
        if (node.Mapping("uplink", s_uplinkKeys) is not { } m)
        {
            return null;
        }

        string? name = m.String("interface", required: true);
        if (name is not null && NameRules.InterfaceNameProblem(name) is { } nameProblem)
        {
            m.Error("interface", nameProblem);
        }

        (IpAddress Address, int Length)? ip = m.InterfaceAddress("ip", v6: false, required: true);
        if (ip is { } v4)
        {
            Ip4Address address = v4.Address.V4;
            IpPrefix subnet = IpPrefix.Containing(address, v4.Length);
            if (address.IsZero || address.IsMulticast || address.IsLimitedBroadcast)
            {
                m.Error("ip", $"'{address}' is not a unicast address");
            }
            else if (AddressRules.IsReservedV4(subnet, address))
            {
                m.Error("ip", $"'{address}' is the {NetworkOrBroadcast(subnet, address)} address of its subnet {subnet}");
            }
            else if (_podCidr is { } podCidr && podCidr.Contains(address))
            {
                m.Error("ip", $"'{address}' is inside node.podCidr {podCidr}: the uplink must be on another network than this node's pods");
            }
            else
            {
                _uplinkIp = address;
                _uplinkSubnet = subnet;
            }
        }

        _hasUplinkIpV6 = m.Has("ipV6");
        (IpAddress Address, int Length)? ip6 = m.InterfaceAddress("ipV6", v6: true);
        if (ip6 is { } v6)
        {
            Ip6Address address = v6.Address.V6;
            if (address.IsZero || address.IsMulticast)
            {
                m.Error("ipV6", $"'{address}' is not a unicast address");
            }
            else if (_podCidrV6 is { } podCidr6 && podCidr6.Contains(address))
            {
                m.Error("ipV6", $"'{address}' is inside node.podCidrV6 {podCidr6}: the uplink must be on another network than this node's pods");
            }
            else
            {
                _uplinkIpV6 = address;
                _uplinkSubnetV6 = IpPrefix.Containing(address, v6.Length);
            }
        }

        _uplinkMac = m.Mac("mac", required: true);

        int mtu = m.Int("mtu", 576, 65535, 1500);
        if (_hasUplinkIpV6 && mtu < MinIpv6Mtu)
        {
            m.Error("mtu", $"{mtu} is below {MinIpv6Mtu}, the minimum for IPv6 (RFC 8200 section 5), and node.uplink.ipV6 is set");
        }

        (Ip4Address? gateway, MacAddress? gatewayMac, Ip6Address? gateway6) = ReadGateways(m);
        if (name is null || ip is null || _uplinkMac is null)
        {
            return null;
        }

        return new UplinkConfig(name, ip.Value.Address.V4, ip.Value.Length, ip6?.Address.V6, ip6?.Length ?? 0, _uplinkMac.Value, mtu, gateway, gatewayMac, gateway6);
    }

    private static string NetworkOrBroadcast(IpPrefix prefix, Ip4Address address) => address == prefix.Address.V4 ? "network" : "broadcast";

    private static string Duplicate(object value, string firstPath) => $"'{value}' is a duplicate of {firstPath}";

    /// <summary>The mapping's <c>name</c>: a DNS label, unique among <paramref name="names"/> (name to where it first stood).</summary>
    private static string? UniqueName(ConfigMapping m, Dictionary<string, string> names, bool required)
    {
        string? name = m.String("name", required: required);
        if (name is null)
        {
            return null;
        }

        if (NameRules.DnsLabelProblem(name) is { } problem)
        {
            m.Error("name", problem);
        }
        else if (!names.TryAdd(name, m.PathOf("name")))
        {
            m.Error("name", Duplicate(name, names[name]));
        }

        return name;
    }
}
