using Dataplane.Model;
using Dataplane.Packets;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Config;

/// <summary>
/// The <c>services:</c> list: ClusterIP frontends and their endpoints. A frontend (cluster IP, protocol, port) must
/// name one service only, or the service table would have to pick one silently.
/// </summary>
internal sealed partial class NodeConfigParser
{
    private static readonly string[] s_serviceKeys =
        ["name", "namespace", "clusterIP", "clusterIPs", "sessionAffinity", "sessionAffinityConfig", "scheduler", "ports", "endpoints",
         "type", "externalIPs", "status", "externalTrafficPolicy", "internalTrafficPolicy", "healthCheckNodePort", "loadBalancerSourceRanges"];

    /// <summary>The service keys of the format before it took Kubernetes' names, each refused with its replacement.</summary>
    private static readonly Dictionary<string, string> s_renamedServiceKeys = new(StringComparer.Ordinal)
    {
        ["clusterIp"] = "use 'clusterIP' (Kubernetes' name)",
        ["clusterIpV6"] = "use 'clusterIPs: [IPv4, IPv6]' for dual stack, or 'clusterIP' alone for IPv6 only (Kubernetes' names)",
        ["affinityTimeoutSeconds"] = "use 'sessionAffinityConfig: { clientIP: { timeoutSeconds: N } }' (Kubernetes' name)",
    };

    private static readonly string[] s_affinityConfigKeys = ["clientIP"];
    private static readonly string[] s_clientIpKeys = ["timeoutSeconds"];

    private static readonly string[] s_portKeys = ["name", "protocol", "port", "targetPort", "nodePort"];
    private static readonly string[] s_endpointKeys = ["ip", "weight", "terminating", "nodeName"];
    private static readonly string[] s_statusKeys = ["loadBalancer"];
    private static readonly string[] s_loadBalancerKeys = ["ingress"];
    private static readonly string[] s_ingressKeys = ["ip", "hostname", "ipMode", "ports"];

    private static readonly (string, ServiceType)[] s_types =
        [("ClusterIP", ServiceType.ClusterIP), ("NodePort", ServiceType.NodePort), ("LoadBalancer", ServiceType.LoadBalancer)];

    private static readonly (string, TrafficPolicy)[] s_policies = [("Cluster", TrafficPolicy.Cluster), ("Local", TrafficPolicy.Local)];

    private static readonly (string, SessionAffinity)[] s_affinities = [("None", SessionAffinity.None), ("ClientIP", SessionAffinity.ClientIP)];

    private static readonly (string, Scheduler)[] s_schedulers =
        [("maglev", Scheduler.Maglev), ("random", Scheduler.Random), ("roundrobin", Scheduler.RoundRobin), ("leastconn", Scheduler.LeastConn)];

    private static readonly (string, L4Protocol)[] s_protocols = [("TCP", L4Protocol.Tcp), ("UDP", L4Protocol.Udp), ("SCTP", L4Protocol.Sctp)];

    /// <summary>
    /// The file format's endpoint weights: 1..256, a range an operator can reason about, inside the engine's
    /// <see cref="ServiceRules.MaxWeight"/>. No 0: an endpoint that should get no new flows is marked terminating (or
    /// left out), as in an EndpointSlice.
    /// </summary>
    internal const int MinWeight = 1;
    internal const int MaxWeight = 256;

    private List<ServiceConfig> ReadServices(ConfigMapping top)
    {
        var services = new List<ServiceConfig>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var frontends = new Dictionary<(IpAddress, L4Protocol, int), string>();
        var nodePorts = new Dictionary<(L4Protocol, int), string>();
        IReadOnlyList<(YamlNode Item, string Path)> items = top.Sequence("services");
        int servicePorts = SeedAppliedServices(items, frontends, nodePorts);
        bool tableFull = false;
        foreach ((YamlNode item, string path) in items)
        {
            if (_reader.Mapping(item, path, s_serviceKeys, s_renamedServiceKeys) is not { } m)
            {
                continue;
            }

            string? name = ServiceName(m, names);
            (Ip4Address? clusterIp, Ip6Address? clusterIp6, bool hasV4, bool hasV6) = ReadClusterIps(m, path);
            SessionAffinity affinity = m.Choice("sessionAffinity", s_affinities, SessionAffinity.None);
            int affinityTimeout = AffinityTimeout(m);
            Scheduler scheduler = m.Choice("scheduler", s_schedulers, Scheduler.Maglev);

            IpAddress?[] vips = [clusterIp, clusterIp6];
            ServiceType type = m.Choice("type", s_types, ServiceType.ClusterIP);
            List<ServicePortConfig> ports = ReadServicePorts(m, vips, type, frontends, nodePorts);
            ServiceExposure exposure = ReadExposure(m, type, ports, frontends, nodePorts);
            List<EndpointConfig> endpoints = ReadEndpoints(m, hasV4, hasV6);
            (int v4Endpoints, int v6Endpoints) = ServiceRules.EndpointsPerFamily(endpoints);
            foreach ((int count, string family) in (ReadOnlySpan<(int, string)>)[(v4Endpoints, "IPv4"), (v6Endpoints, "IPv6")])
            {
                if (count > ServiceRules.MaxEndpointsPerFamily)
                {
                    m.Error("endpoints", $"{count} {family} endpoints; a service takes at most {ServiceRules.MaxEndpointsPerFamily} per family (a Maglev entry indexes them with 16 bits)");
                }
            }

            servicePorts += ports.Count * ((clusterIp is null ? 0 : 1) + (clusterIp6 is null ? 0 : 1));
            if (servicePorts > ServiceRules.MaxServicePorts && !tableFull)
            {
                tableFull = true;
                m.Error("ports", $"the node's services reach {servicePorts} service ports here (each port counts once per cluster IP); a node holds at most {ServiceRules.MaxServicePorts}");
            }

            if (name is not null)
            {
                services.Add(new ServiceConfig(name, clusterIp, clusterIp6, affinity, affinityTimeout, scheduler, ports, endpoints) { Exposure = exposure });
            }
        }

        return services;
    }

    /// <summary>
    /// For a document added to running services (ctl service apply): the applied services it does not replace keep
    /// their frontends and node ports, and their service ports count toward the node's limit. Returns that count.
    /// </summary>
    private int SeedAppliedServices(
        IReadOnlyList<(YamlNode Item, string Path)> items,
        Dictionary<(IpAddress, L4Protocol, int), string> frontends,
        Dictionary<(L4Protocol, int), string> nodePorts)
    {
        if (_applied.Count == 0)
        {
            return 0;
        }

        var replaced = new HashSet<string>(StringComparer.Ordinal);
        foreach ((YamlNode item, _) in items)
        {
            if (item is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode("name"), out YamlNode? name) && name is YamlScalarNode { Value: { } value })
            {
                string ns = map.Children.TryGetValue(new YamlScalarNode("namespace"), out YamlNode? space) && space is YamlScalarNode { Value: { } given }
                    ? given : ServiceNames.DefaultNamespace;
                replaced.Add(ServiceNames.Key(ns, value));
            }
        }

        int servicePorts = 0;
        foreach (ServiceConfig service in _applied)
        {
            if (replaced.Contains(service.Name))
            {
                continue;
            }

            string owner = $"service {service.Name} (applied)";
            foreach (ServicePortConfig port in service.Ports)
            {
                foreach (IpAddress? vip in (IpAddress?[])[service.ClusterIp, service.ClusterIpV6])
                {
                    if (vip is { } address)
                    {
                        frontends.TryAdd((address, port.Protocol, port.Port), owner);
                        servicePorts++;
                    }
                }

                if (port.NodePort is { } nodePort && service.Exposure.HasNodePorts)
                {
                    nodePorts.TryAdd((port.Protocol, nodePort), owner);
                }

                foreach (IpAddress ip in (IEnumerable<IpAddress>)[.. service.Exposure.ExternalIps, .. service.Exposure.LoadBalancerIps])
                {
                    frontends.TryAdd((ip, port.Protocol, port.Port), owner);
                }
            }

            if (service.Exposure.HealthCheckNodePort is { } health)
            {
                nodePorts.TryAdd((L4Protocol.Tcp, health), owner);
            }
        }

        return servicePorts;
    }

    private List<ServicePortConfig> ReadServicePorts(
        ConfigMapping service,
        IpAddress?[] vips,
        ServiceType type,
        Dictionary<(IpAddress, L4Protocol, int), string> frontends,
        Dictionary<(L4Protocol, int), string> nodePorts)
    {
        var ports = new List<ServicePortConfig>();
        if (service.Value("ports", required: true) is YamlSequenceNode { Children.Count: 0 })
        {
            service.Error("ports", "a service needs at least one port");
        }

        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var local = new Dictionary<(L4Protocol, int), string>();
        foreach ((YamlNode item, string path) in service.Sequence("ports"))
        {
            if (_reader.Mapping(item, path, s_portKeys) is not { } m)
            {
                continue;
            }

            string? name = UniqueName(m, names, required: false);

            L4Protocol protocol = m.Choice("protocol", s_protocols, L4Protocol.Tcp);
            int? port = m.Int("port", 1, 65535, required: true);
            int? targetPort = m.Int("targetPort", 1, 65535, required: false) ?? port;
            int? nodePort = m.Int("nodePort", _nodePortMin, _nodePortMax, required: false);
            if (nodePort is not null && type == ServiceType.ClusterIP)
            {
                m.Error("nodePort", "may not be used when the service's type is ClusterIP (set type: NodePort or LoadBalancer)");
                nodePort = null;
            }
            else if (!m.Has("nodePort") && type != ServiceType.ClusterIP)
            {
                m.Error("nodePort", $"required for type {type}: the API server allocates node ports; node.yaml must name them ({_nodePortMin}-{_nodePortMax})");
            }

            if (port is { } p)
            {
                string frontend = $"{ProtocolName(protocol)}/{p}";
                if (!local.TryAdd((protocol, p), path))
                {
                    m.Error("port", $"{frontend} is a duplicate of {local[(protocol, p)]}");
                }
                else
                {
                    foreach (IpAddress? vip in vips)
                    {
                        if (vip is { } address && !frontends.TryAdd((address, protocol, p), path))
                        {
                            m.Error("port", $"{address} {frontend} is already served by {frontends[(address, protocol, p)]}");
                        }
                    }
                }
            }

            if (nodePort is { } np && !nodePorts.TryAdd((protocol, np), m.PathOf("nodePort")))
            {
                m.Error("nodePort", $"{ProtocolName(protocol)}/{np} is already used by {nodePorts[(protocol, np)]}");
            }

            if (port is not null && targetPort is not null)
            {
                ports.Add(new ServicePortConfig(name, protocol, (ushort)port.Value, (ushort)targetPort.Value, (ushort?)nodePort));
            }
        }

        return ports;
    }

    private List<EndpointConfig> ReadEndpoints(ConfigMapping service, bool hasV4, bool hasV6)
    {
        var endpoints = new List<EndpointConfig>();
        var ips = new Dictionary<IpAddress, string>();
        foreach ((YamlNode item, string path) in service.Sequence("endpoints"))
        {
            if (_reader.Mapping(item, path, s_endpointKeys) is not { } m)
            {
                continue;
            }

            IpAddress? ip = m.Ip("ip", required: true);
            if (ip is { } address)
            {
                if (EndpointProblem(address, hasV4, hasV6) is { } problem)
                {
                    m.Error("ip", problem);
                }
                else if (!ips.TryAdd(address, m.PathOf("ip")))
                {
                    m.Error("ip", Duplicate(address, ips[address]));
                }
            }

            int weight = m.Int("weight", MinWeight, MaxWeight, 1);
            bool terminating = m.Bool("terminating", false);
            string? nodeName = m.String("nodeName");
            if (nodeName is { Length: 0 or > 253 })
            {
                m.Error("nodeName", "a node name is 1 to 253 characters");
            }

            if (ip is not null)
            {
                endpoints.Add(new EndpointConfig(ip.Value, weight, terminating, nodeName));
            }
        }

        return endpoints;
    }

    private string? ClusterIpProblem(Ip4Address vip)
    {
        if (vip.IsZero || vip.IsMulticast || vip.IsLimitedBroadcast)
        {
            return $"'{vip}' is not a unicast address";
        }

        if (_podCidr is { } podCidr && podCidr.Contains(vip))
        {
            return $"'{vip}' is inside node.podCidr {podCidr}: cluster IPs come from the service range, not the pod range";
        }

        if (vip == _uplinkIp)
        {
            return $"'{vip}' is node.uplink.ip";
        }

        // The gateway is inside podCidr, so only a missing podCidr leaves this to catch.
        return vip == _gateway ? $"'{vip}' is node.gatewayIp" : null;
    }

    private string? ClusterIpV6Problem(Ip6Address vip)
    {
        if (vip.IsZero || vip.IsMulticast)
        {
            return $"'{vip}' is not a unicast address";
        }

        if (_podCidrV6 is { } podCidr6 && podCidr6.Contains(vip))
        {
            return $"'{vip}' is inside node.podCidrV6 {podCidr6}: cluster IPs come from the service range, not the pod range";
        }

        if (vip == _uplinkIpV6)
        {
            return $"'{vip}' is node.uplink.ipV6";
        }

        return vip == _gatewayV6 ? $"'{vip}' is node.gatewayIpV6" : null;
    }

    private static string? EndpointProblem(IpAddress address, bool hasV4, bool hasV6)
    {
        if (address.IsV4 ? address.V4.IsZero || address.V4.IsMulticast || address.V4.IsLimitedBroadcast : address.V6.IsZero || address.V6.IsMulticast)
        {
            return $"'{address}' is not a unicast address";
        }

        if (address.IsV4 && !hasV4)
        {
            return $"'{address}' is IPv4 but the service has no IPv4 cluster IP";
        }

        return !address.IsV4 && !hasV6 ? $"'{address}' is IPv6 but the service has no IPv6 cluster IP" : null;
    }

    private static string ProtocolName(L4Protocol protocol) => protocol.ToString().ToUpperInvariant();

    /// <summary>
    /// The service's key, <c>namespace/name</c> as Kubernetes names it everywhere (ctl, counters, traces): <c>name</c>
    /// and <c>namespace</c> (default <c>default</c>) are DNS labels; the key is unique in the file.
    /// </summary>
    private static string? ServiceName(ConfigMapping m, Dictionary<string, string> keys)
    {
        string? name = m.String("name", required: true);
        string ns = m.String("namespace") ?? ServiceNames.DefaultNamespace;
        bool valid = true;
        foreach ((string key, string value) in (ReadOnlySpan<(string, string)>)[("namespace", ns), ("name", name ?? "")])
        {
            if ((key == "namespace" || name is not null) && NameRules.DnsLabelProblem(value) is { } problem)
            {
                m.Error(key, problem);
                valid = false;
            }
        }

        if (name is null || !valid)
        {
            return null;
        }

        string serviceKey = ServiceNames.Key(ns, name);
        if (!keys.TryAdd(serviceKey, m.PathOf("name")))
        {
            m.Error("name", Duplicate(serviceKey, keys[serviceKey]));
        }

        return serviceKey;
    }

    /// <summary>
    /// <c>clusterIP</c> and <c>clusterIPs</c> as the Service API has them: <c>clusterIPs</c> lists one address per
    /// family (dual stack), <c>clusterIP</c> is its first item when both are given. The booleans say which families the
    /// service declared, valid or not, so a bad address does not also report every endpoint of its family.
    /// </summary>
    private (Ip4Address? V4, Ip6Address? V6, bool HasV4, bool HasV6) ReadClusterIps(ConfigMapping m, string path)
    {
        var given = new List<(IpAddress Ip, YamlNode Node, string Path)>();
        bool hasV4 = false;
        bool hasV6 = false;
        string? primary = null;
        if (m.Value("clusterIP", required: false) is { } single)
        {
            if (single is YamlScalarNode { Value: "None" })
            {
                m.Error("clusterIP", "a headless service (clusterIP: None) has no virtual IP to balance; leave it out");
            }
            else if (AddressList([(single, m.PathOf("clusterIP"))]) is [var one])
            {
                given.Add(one);
                primary = one.Address.ToString();
            }
            else if (single is YamlScalarNode { Value: { } text })
            {
                hasV4 |= !text.Contains(':');
                hasV6 |= text.Contains(':');
            }
        }

        IReadOnlyList<(YamlNode Item, string Path)> list = m.Sequence("clusterIPs");
        if (m.Has("clusterIPs") && list.Count is 0 or > 2)
        {
            m.Error("clusterIPs", "lists one or two addresses (one per family)");
        }

        List<(IpAddress Address, YamlNode Item, string Path)> listed = AddressList(list);
        if (primary is not null && listed.Count > 0 && listed[0].Address.ToString() != primary)
        {
            m.Error("clusterIPs", $"its first address {listed[0].Address} must be clusterIP {primary}, as the Service API requires");
        }

        given.AddRange(listed.Skip(primary is null ? 0 : 1));
        Ip4Address? v4 = null;
        Ip6Address? v6 = null;
        foreach ((IpAddress ip, YamlNode node, string at) in given)
        {
            hasV4 |= ip.IsV4;
            hasV6 |= !ip.IsV4;
            if (ip.IsV4 ? v4 is not null : v6 is not null)
            {
                _reader.Error(node, at, $"a second {(ip.IsV4 ? "IPv4" : "IPv6")} cluster IP; a service has at most one per family");
                continue;
            }

            if ((ip.IsV4 ? ClusterIpProblem(ip.V4) : ClusterIpV6Problem(ip.V6)) is { } problem)
            {
                _reader.Error(node, at, problem);
                continue;
            }

            if (ip.IsV4)
            {
                v4 = ip.V4;
            }
            else
            {
                v6 = ip.V6;
            }
        }

        // A file still written with the old keys has had those refused by name; "needs clusterIP" would say it twice.
        bool oldKeys = m.Node.Children.ContainsKey(new YamlScalarNode("clusterIp")) || m.Node.Children.ContainsKey(new YamlScalarNode("clusterIpV6"));
        if (!hasV4 && !hasV6 && !m.Has("clusterIP") && !oldKeys)
        {
            _reader.Error(m.Node, path, "a service needs clusterIP (or clusterIPs for dual stack)");
        }

        return (v4, v6, hasV4, hasV6);
    }

    /// <summary>
    /// <c>sessionAffinityConfig.clientIP.timeoutSeconds</c>: Kubernetes' default and upper bound (3 hours, 1 day). Only
    /// ClientIP reads it; it is accepted with None too, as the API does, so switching affinity is a one-line change.
    /// </summary>
    private static int AffinityTimeout(ConfigMapping m)
    {
        const int Default = 10800;
        return m.Mapping("sessionAffinityConfig", s_affinityConfigKeys)?.Mapping("clientIP", s_clientIpKeys)?.Int("timeoutSeconds", 1, 86400, Default) ?? Default;
    }
}
