using Dataplane.Packets;

namespace Dataplane.Config;

/// <summary>
/// What the cluster says about this node, for a node.yaml that leaves it out: its name (<c>--node-name</c>) and the
/// pod CIDRs the API server allocated it (<c>spec.podCIDRs</c>, one per family). The gateway defaults to each CIDR's
/// first address and the pods' gateway MAC to <see cref="DefaultGatewayMac"/>.
/// </summary>
public sealed record ClusterNodeIdentity(string Name, IpPrefix? PodCidr, IpPrefix? PodCidrV6)
{
    /// <summary>
    /// The MAC every node's pods see as their gateway when node.yaml names none: Calico's choice, one locally
    /// administered unicast address for every node (a pod never talks to two nodes' gateways).
    /// </summary>
    public static MacAddress DefaultGatewayMac { get; } = MacAddress.Parse("ee:ee:ee:ee:ee:ee");
}
