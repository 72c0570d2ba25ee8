using Dataplane.Model;
using Dataplane.Packets;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Config;

/// <summary>
/// A service's entrances from outside the cluster, with Kubernetes' names and rules: <c>externalIPs</c>,
/// <c>status.loadBalancer.ingress[].ip</c>, <c>externalTrafficPolicy</c> (only for a service reachable from outside),
/// <c>internalTrafficPolicy</c>, <c>healthCheckNodePort</c> (LoadBalancer with the Local policy) and
/// <c>loadBalancerSourceRanges</c> (LoadBalancer). Every external address must be able to take the node's SNAT
/// (an uplink address of its family) and may not be a pod's or the node's own.
/// </summary>
internal sealed partial class NodeConfigParser
{
    private ServiceExposure ReadExposure(
        ConfigMapping m,
        ServiceType type,
        List<ServicePortConfig> ports,
        Dictionary<(IpAddress, L4Protocol, int), string> frontends,
        Dictionary<(L4Protocol, int), string> nodePorts)
    {
        List<IpAddress> externalIps = ExternalAddresses(m.Sequence("externalIPs"), ports, frontends);
        List<IpAddress> loadBalancerIps = [];
        if (m.Mapping("status", s_statusKeys) is { } status && status.Mapping("loadBalancer", s_loadBalancerKeys) is { } loadBalancer)
        {
            var ingress = new List<(YamlNode, string)>();
            foreach ((YamlNode item, string path) in loadBalancer.Sequence("ingress"))
            {
                // A hostname-only ingress (a cloud balancer known by name) has nothing for the node to serve, as in kube-proxy.
                if (_reader.Mapping(item, path, s_ingressKeys) is { } entry && entry.Has("ip"))
                {
                    ingress.Add((entry.At("ip"), entry.PathOf("ip")));
                }
            }

            loadBalancerIps = ExternalAddresses(ingress, ports, frontends);
            if (loadBalancerIps.Count > 0 && type != ServiceType.LoadBalancer)
            {
                m.Error("status", "load-balancer ingress IPs belong to a service of type LoadBalancer");
            }
        }

        bool external = type != ServiceType.ClusterIP || externalIps.Count > 0;
        TrafficPolicy externalPolicy = m.Choice("externalTrafficPolicy", s_policies, TrafficPolicy.Cluster);
        if (m.Has("externalTrafficPolicy") && !external)
        {
            m.Error("externalTrafficPolicy", "may only be set for a service reachable from outside (type NodePort or LoadBalancer, or externalIPs)");
        }

        TrafficPolicy internalPolicy = m.Choice("internalTrafficPolicy", s_policies, TrafficPolicy.Cluster);

        ushort? healthCheck = null;
        if (m.Has("healthCheckNodePort"))
        {
            int? port = m.Int("healthCheckNodePort", _nodePortMin, _nodePortMax, required: true);
            if (type != ServiceType.LoadBalancer || externalPolicy != TrafficPolicy.Local)
            {
                m.Error("healthCheckNodePort", "may only be set for type LoadBalancer with externalTrafficPolicy: Local");
            }
            else if (port is { } p && !nodePorts.TryAdd((L4Protocol.Tcp, p), m.PathOf("healthCheckNodePort")))
            {
                m.Error("healthCheckNodePort", $"TCP/{p} is already used by {nodePorts[(L4Protocol.Tcp, p)]}");
            }
            else
            {
                healthCheck = (ushort?)port;
            }
        }

        List<IpPrefix> sourceRanges = [];
        if (m.Has("loadBalancerSourceRanges"))
        {
            sourceRanges = PrefixList(m, "loadBalancerSourceRanges");
            if (type != ServiceType.LoadBalancer)
            {
                m.Error("loadBalancerSourceRanges", "may only be set for type LoadBalancer");
            }
        }

        return type == ServiceType.ClusterIP && externalIps.Count == 0 && loadBalancerIps.Count == 0 && internalPolicy == TrafficPolicy.Cluster
            ? ServiceExposure.ClusterIpOnly
            : new ServiceExposure(type, externalIps, loadBalancerIps, externalPolicy, internalPolicy, healthCheck, sourceRanges);
    }

    /// <summary>External or load-balancer IPs: unicast, outside the pod CIDRs, not the node's, with an uplink address of their family, each frontend once.</summary>
    private List<IpAddress> ExternalAddresses(
        IReadOnlyList<(YamlNode Item, string Path)> items,
        List<ServicePortConfig> ports,
        Dictionary<(IpAddress, L4Protocol, int), string> frontends)
    {
        var result = new List<IpAddress>();
        foreach ((IpAddress ip, YamlNode item, string path) in AddressList(items))
        {
            string? problem = ip.IsV4
                ? _podCidr is { } p4 && p4.Contains(ip) ? $"'{ip}' is inside node.podCidr {p4}"
                    : !_hasUplink ? $"'{ip}' needs node.uplink: external traffic arrives there"
                    : ip.V4 == _uplinkIp ? $"'{ip}' is node.uplink.ip (use a nodePort)" : null
                : _podCidrV6 is { } p6 && p6.Contains(ip) ? $"'{ip}' is inside node.podCidrV6 {p6}"
                    : _uplinkIpV6 is null ? $"'{ip}' is IPv6 and node.uplink has no ipV6 to answer from"
                    : ip.V6 == _uplinkIpV6 ? $"'{ip}' is node.uplink.ipV6 (use a nodePort)" : null;
            if (problem is not null)
            {
                _reader.Error(item, path, problem);
                continue;
            }

            bool clash = false;
            foreach (ServicePortConfig port in ports)
            {
                if (!frontends.TryAdd((ip, port.Protocol, port.Port), path))
                {
                    _reader.Error(item, path, $"{ip} {ProtocolName(port.Protocol)}/{port.Port} is already served by {frontends[(ip, port.Protocol, port.Port)]}");
                    clash = true;
                    break;
                }
            }

            if (!clash)
            {
                result.Add(ip);
            }
        }

        return result;
    }
}
