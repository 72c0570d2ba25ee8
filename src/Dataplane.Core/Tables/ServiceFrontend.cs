using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>Which entrance of a service a frontend (address:port/protocol) is.</summary>
public enum FrontendKind : byte
{
    /// <summary>A cluster IP: traffic from inside the cluster (<c>internalTrafficPolicy</c>).</summary>
    ClusterIp,

    /// <summary>A node address and a <c>nodePort</c> (<c>externalTrafficPolicy</c>).</summary>
    NodePort,

    /// <summary>One of <c>spec.externalIPs</c> (<c>externalTrafficPolicy</c>).</summary>
    ExternalIp,

    /// <summary>One of <c>status.loadBalancer.ingress</c> (<c>externalTrafficPolicy</c>, <c>loadBalancerSourceRanges</c>).</summary>
    LoadBalancerIp,
}

/// <summary>
/// How one frontend treats a new flow, as kube-proxy's KUBE-SVC/KUBE-EXT/KUBE-FW chains do:
/// <list type="bullet">
/// <item><see cref="LocalOnly"/>: only this node's endpoints (<c>Local</c> policy). An external frontend with none
/// drops the flow (kube-proxy's "has no local endpoints" DROP) so a balancer's health check moves traffic away.</item>
/// <item><see cref="SnatToNode"/>: the client is source-NATed to the node's address (external traffic under the
/// <c>Cluster</c> policy, which may go to another node's endpoint: the reply must come back through this node).
/// The <c>Local</c> policy keeps the client's address instead.</item>
/// <item><see cref="SourceRanges"/>: <c>loadBalancerSourceRanges</c>; empty admits every client.</item>
/// </list>
/// </summary>
public sealed record FrontendPolicy(FrontendKind Kind, bool LocalOnly, bool SnatToNode, IpPrefix[] SourceRanges)
{
    public static FrontendPolicy Cluster { get; } = new(FrontendKind.ClusterIp, false, false, []);

    public bool IsExternal => Kind != FrontendKind.ClusterIp;

    /// <summary>Whether <paramref name="client"/> may open a flow here (a short scan; new flows only).</summary>
    public bool Admits(in IpAddress client) => SourceRanges.Length == 0 || IpPrefix.AnyContains(SourceRanges, client);

    public bool Equals(FrontendPolicy? other)
        => other is not null && Kind == other.Kind && LocalOnly == other.LocalOnly && SnatToNode == other.SnatToNode
            && SourceRanges.AsSpan().SequenceEqual(other.SourceRanges);

    public override int GetHashCode() => HashCode.Combine(Kind, LocalOnly, SnatToNode, SourceRanges.Length);
}

/// <summary>
/// What the service table needs to know about its node to expand a Service into frontends: the addresses node ports
/// are served on, and which endpoints are this node's (by the EndpointSlice's <c>nodeName</c>, else by pod CIDR).
/// </summary>
public sealed record ServiceNode(string Name, IpPrefix? PodCidr, IpPrefix? PodCidrV6, Ip4Address? NodeIp, Ip6Address? NodeIpV6)
{
    /// <summary>A table without a node (tests, benchmarks): no node ports; no endpoint is local unless named so.</summary>
    public static ServiceNode None { get; } = new("", null, null, null, null);

    public bool IsLocal(EndpointConfig endpoint)
        => endpoint.NodeName is { } node
            ? node == Name
            : (PodCidr is { } v4 && v4.Contains(endpoint.Ip)) || (PodCidrV6 is { } v6 && v6.Contains(endpoint.Ip));

    /// <summary>
    /// Every frontend of <paramref name="service"/> with its policy: per family, the cluster IP's ports; for NodePort
    /// and LoadBalancer services each port's nodePort on the node's address of that family; the external and
    /// load-balancer IPs of that family on the service's ports.
    /// </summary>
    public List<(ServiceKey Key, ServicePortConfig Port, bool V4, FrontendPolicy Policy)> Frontends(ServiceConfig service)
    {
        var frontends = new List<(ServiceKey, ServicePortConfig, bool, FrontendPolicy)>();
        ServiceExposure exposure = service.Exposure;
        bool externalLocal = exposure.ExternalTrafficPolicy == TrafficPolicy.Local;
        var cluster = exposure.InternalTrafficPolicy == TrafficPolicy.Local ? FrontendPolicy.Cluster with { LocalOnly = true } : FrontendPolicy.Cluster;
        var nodePort = new FrontendPolicy(FrontendKind.NodePort, externalLocal, !externalLocal, []);
        var externalIp = nodePort with { Kind = FrontendKind.ExternalIp };
        var loadBalancerIp = nodePort with
        {
            Kind = FrontendKind.LoadBalancerIp,
            SourceRanges = [.. exposure.LoadBalancerSourceRanges],
        };

        foreach (bool v4 in (ReadOnlySpan<bool>)[true, false])
        {
            IpAddress? vip = v4 ? service.ClusterIp is { } c4 ? c4 : null : service.ClusterIpV6 is { } c6 ? c6 : null;
            if (vip is null)
            {
                continue;
            }

            IpAddress? node = v4 ? NodeIp is { } n4 ? n4 : null : NodeIpV6 is { } n6 ? n6 : null;
            foreach (ServicePortConfig p in service.Ports)
            {
                frontends.Add((new ServiceKey(vip.Value, p.Protocol, p.Port), p, v4, cluster));
                if (exposure.HasNodePorts && p.NodePort is { } np && node is { } address)
                {
                    frontends.Add((new ServiceKey(address, p.Protocol, np), p, v4, nodePort));
                }

                foreach (IpAddress ip in exposure.ExternalIps)
                {
                    if (ip.IsV4 == v4)
                    {
                        frontends.Add((new ServiceKey(ip, p.Protocol, p.Port), p, v4, externalIp));
                    }
                }

                foreach (IpAddress ip in exposure.LoadBalancerIps)
                {
                    if (ip.IsV4 == v4)
                    {
                        frontends.Add((new ServiceKey(ip, p.Protocol, p.Port), p, v4, loadBalancerIp));
                    }
                }
            }
        }

        return frontends;
    }
}
