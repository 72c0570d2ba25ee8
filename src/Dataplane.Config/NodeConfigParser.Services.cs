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
        ["name", "clusterIp", "clusterIpV6", "sessionAffinity", "affinityTimeoutSeconds", "scheduler", "ports", "endpoints",
         "type", "externalIPs", "status", "externalTrafficPolicy", "internalTrafficPolicy", "healthCheckNodePort", "loadBalancerSourceRanges"];

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
            if (_reader.Mapping(item, path, s_serviceKeys) is not { } m)
            {
                continue;
            }

            string? name = UniqueName(m, names, required: true);

            Ip4Address? clusterIp = m.Ip4("clusterIp", v6Key: "clusterIpV6");
            if (clusterIp is { } vip && ClusterIpProblem(vip) is { } vipProblem)
            {
                m.Error("clusterIp", vipProblem);
            }

            Ip6Address? clusterIp6 = m.Ip6("clusterIpV6", v4Key: "clusterIp");
            if (clusterIp6 is { } vip6 && ClusterIpV6Problem(vip6) is { } vip6Problem)
            {
                m.Error("clusterIpV6", vip6Problem);
            }

            bool hasV4 = m.Has("clusterIp");
            bool hasV6 = m.Has("clusterIpV6");
            if (!hasV4 && !hasV6)
            {
                _reader.Error(m.Node, path, "a service needs clusterIp, clusterIpV6 or both");
            }

            SessionAffinity affinity = m.Choice("sessionAffinity", s_affinities, SessionAffinity.None);

            // Kubernetes' own default and upper bound (3 hours, 1 day). Only ClientIP reads it; it is accepted with
            // None too, as the Kubernetes API does, so switching affinity on and off is a one-line change.
            int affinityTimeout = m.Int("affinityTimeoutSeconds", 1, 86400, 10800);
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
                replaced.Add(value);
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
            return $"'{address}' is IPv4 but the service has no clusterIp";
        }

        return !address.IsV4 && !hasV6 ? $"'{address}' is IPv6 but the service has no clusterIpV6" : null;
    }

    private static string ProtocolName(L4Protocol protocol) => protocol.ToString().ToUpperInvariant();
}
