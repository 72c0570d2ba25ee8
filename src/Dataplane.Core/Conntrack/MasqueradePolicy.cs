using Dataplane.Packets;

namespace Dataplane.Conntrack;

/// <summary>
/// Which new flows leave with the node's address (ip-masq-agent's rule, kube-proxy's KUBE-POSTROUTING MASQUERADE):
/// a flow from one of this node's pods to a destination outside every non-masquerade CIDR (by default the pod CIDRs the
/// node knows: its own and each route's), so the outside world, which has no route to pod addresses, can answer it.
/// Multicast and broadcast stay on the pods' segment and are never masqueraded.
/// Read once per new flow; a short scan of a few prefixes.
/// </summary>
/// <param name="podSources">This node's pod CIDRs.</param>
/// <param name="nonMasquerade">Destinations that keep the pod's address.</param>
/// <param name="node">The node's own addresses: traffic to them is delivered to the node (hostNetwork pods, the kubelet),
/// never masqueraded, as the kernel's INPUT path never meets POSTROUTING's MASQUERADE.</param>
public sealed class MasqueradePolicy(IpPrefix[] podSources, IpPrefix[] nonMasquerade, IpAddress[] node)
{
    // Swapped whole when routes to other nodes come and go (their pod CIDRs are inside the cluster); read once per new flow.
    private IpPrefix[] _nonMasquerade = nonMasquerade;

    /// <summary>Nothing is masqueraded (no uplink, or <c>node.masquerade.enabled: false</c>).</summary>
    public static MasqueradePolicy Off { get; } = new([], [], []);

    public bool Enabled => podSources.Length != 0;

    public bool Applies(in FlowKey key)
    {
        if (podSources.Length == 0 || !IpPrefix.AnyContains(podSources, key.Source))
        {
            return false;
        }

        IpAddress destination = key.Destination;
        bool group = destination.IsV4 ? destination.V4.IsMulticast || destination.V4.IsLimitedBroadcast : destination.V6.IsMulticast;
        return !group && Array.IndexOf(node, destination) < 0 && !IpPrefix.AnyContains(Volatile.Read(ref _nonMasquerade), destination);
    }

    /// <summary>
    /// The default list follows the routes (<see cref="Control.RouteController"/>): this node's pod CIDRs plus every
    /// route's, merged where they are adjacent (a cluster of 5,000 nodes' /24s out of one /16 scans one prefix).
    /// </summary>
    public void SetNonMasquerade(IEnumerable<IpPrefix> inside) => Volatile.Write(ref _nonMasquerade, IpPrefix.Coalesce(inside));
}
