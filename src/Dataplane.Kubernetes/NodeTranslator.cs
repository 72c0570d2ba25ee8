using Dataplane.Model;
using Dataplane.Packets;
using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>
/// The cluster's Nodes into this node's <see cref="NodeIdentity"/> and its routes to every other node's pod CIDRs,
/// the routes flannel programs (https://github.com/flannel-io/flannel, pkg/backend/hostgw and pkg/backend/vxlan):
/// <list type="bullet">
/// <item>host-gw (no <see cref="NodeSettings.Vxlan"/>): each pod CIDR via the owner's <c>InternalIP</c> of the same
/// family, which must be on the uplink's subnet (the next hop is resolved with ARP/ND there: every node on one L2
/// segment, flannel's host-gw rule).</item>
/// <item>VXLAN: each IPv4 pod CIDR to the owner's VTEP, read from flannel's annotations
/// (<see cref="FlannelAnnotations"/>): the VNI must be ours, the VTEP address is <c>public-ip</c> (else the
/// <c>InternalIP</c>) and must be on the uplink's subnet (resolved with ARP, as a host-gw next hop is).</item>
/// </list>
/// Pure, like <see cref="ServiceTranslator"/>: the same Nodes give equal routes. A node whose pod CIDR is not allocated
/// yet is skipped without a word; every other route it cannot make is an <see cref="ObjectWarning"/> naming the node.
/// </summary>
public static class NodeTranslator
{
    private const string InternalIpType = "InternalIP";

    /// <param name="nodes">Every Node of the cluster, this one included.</param>
    /// <param name="nodeName">This node's name, as the kubelet registered it.</param>
    /// <param name="settings">What this node serves: its pod CIDRs (no other node's may overlap them), its uplink
    /// (next hops must be on its subnets) and its VXLAN endpoint, if any.</param>
    public static NodeTranslation Translate(IEnumerable<V1Node> nodes, string nodeName, NodeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentException.ThrowIfNullOrEmpty(nodeName);
        ArgumentNullException.ThrowIfNull(settings);
        var warnings = new List<ObjectWarning>();
        List<V1Node> sorted = [.. nodes.Where(static n => !string.IsNullOrEmpty(n.Metadata?.Name)).OrderBy(static n => n.Metadata.Name, StringComparer.Ordinal)];
        NodeIdentity? self = sorted.FirstOrDefault(n => n.Metadata.Name == nodeName) is { } own
            ? Identity(own, new ObjectWarningCollector("Node", "", nodeName, warnings))
            : null;
        List<IpPrefix> ownCidrs = OwnCidrs(self, settings, new ObjectWarningCollector("Node", "", nodeName, warnings));
        if (self is null)
        {
            warnings.Add(new ObjectWarning("Node", "", nodeName, "is not among the cluster's Nodes: is the node name the kubelet's?"));
        }

        var routes = new List<RouteConfig>();
        var claimed = new List<(IpPrefix Cidr, string Node)>();
        foreach (V1Node node in sorted)
        {
            string name = node.Metadata.Name;
            if (name == nodeName)
            {
                continue;
            }

            var warn = new ObjectWarningCollector("Node", "", name, warnings);
            NodeIdentity other = Identity(node, warn);
            foreach (IpPrefix cidr in OfFamilies(other.PodCidr, other.PodCidrV6))
            {
                if (OverlapProblem(cidr, ownCidrs, claimed) is { } overlap)
                {
                    warn.Add($"pod CIDR {cidr} overlaps {overlap}: no route");
                    continue;
                }

                RouteConfig? route = settings.Vxlan is { } vxlan
                    ? VxlanRoute(node, other, cidr, vxlan, settings.Uplink, warn)
                    : HostGwRoute(other, cidr, settings.Uplink, warn);
                if (route is not null)
                {
                    routes.Add(route);
                    claimed.Add((cidr, name));
                }
            }
        }

        routes.Sort(static (a, b) => a.Cidr.IsV4 != b.Cidr.IsV4 ? (a.Cidr.IsV4 ? -1 : 1)
            : a.Cidr.Address.Bits.ToUInt128() != b.Cidr.Address.Bits.ToUInt128() ? a.Cidr.Address.Bits.ToUInt128().CompareTo(b.Cidr.Address.Bits.ToUInt128())
            : a.Cidr.Length.CompareTo(b.Cidr.Length));
        return new NodeTranslation(self, routes, warnings);
    }

    /// <summary>A Node's pod CIDRs and InternalIPs, one of each family; a second of a family or an unreadable one is warned about.</summary>
    public static NodeIdentity Identity(V1Node node, List<ObjectWarning> warnings)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(warnings);
        return Identity(node, new ObjectWarningCollector("Node", "", node.Metadata?.Name ?? "", warnings));
    }

    private static NodeIdentity Identity(V1Node node, ObjectWarningCollector warn)
    {
        // spec.podCIDRs lists one CIDR per family (dual stack); spec.podCIDR is its first, and all there is on a
        // cluster from before 1.16.
        IList<string> given = node.Spec?.PodCIDRs is { Count: > 0 } list ? list : node.Spec?.PodCIDR is { Length: > 0 } one ? [one] : [];
        IpPrefix? v4 = null;
        IpPrefix? v6 = null;
        foreach (string text in given)
        {
            if (!IpPrefix.TryParse(text, out IpPrefix cidr, out string? error))
            {
                warn.Add($"spec.podCIDRs: {error}");
            }
            else if (cidr.IsV4 ? v4 is not null : v6 is not null)
            {
                warn.Add($"spec.podCIDRs: {cidr} is a second {ApiAddresses.Family(cidr.IsV4)} pod CIDR; the first is used");
            }
            else if (cidr.IsV4)
            {
                v4 = cidr;
            }
            else
            {
                v6 = cidr;
            }
        }

        Ip4Address? ip4 = null;
        Ip6Address? ip6 = null;
        foreach (V1NodeAddress address in node.Status?.Addresses ?? [])
        {
            if (address.Type == InternalIpType && ApiAddresses.TryParseUnicast(address.Address, out IpAddress ip))
            {
                if (ip.IsV4)
                {
                    ip4 ??= ip.V4;
                }
                else
                {
                    ip6 ??= ip.V6;
                }
            }
        }

        return new NodeIdentity(node.Metadata?.Name ?? "", v4, v6, ip4, ip6);
    }

    /// <summary>
    /// The pod CIDRs no other node's may overlap: those this node serves (<paramref name="settings"/>) and those its
    /// Node object names, which should be the same; when they are not, the settings are stale or the node ipam
    /// controller moved the node, and either way pods here and routes elsewhere disagree.
    /// </summary>
    private static List<IpPrefix> OwnCidrs(NodeIdentity? self, NodeSettings settings, ObjectWarningCollector warn)
    {
        var own = new List<IpPrefix> { settings.PodCidr };
        if (settings.PodCidrV6 is { } served6)
        {
            own.Add(served6);
        }

        foreach ((IpPrefix? allocated, IpPrefix? served, string key) in
            (ReadOnlySpan<(IpPrefix?, IpPrefix?, string)>)[(self?.PodCidr, settings.PodCidr, "node.podCidr"), (self?.PodCidrV6, settings.PodCidrV6, "node.podCidrV6")])
        {
            if (allocated is { } cidr && cidr != served)
            {
                warn.Add($"spec.podCIDRs has {cidr} but this node serves pods from {(served is null ? "no such range" : served.ToString())} ({key}): other nodes route {cidr} here");
                own.Add(cidr);
            }
        }

        return own;
    }

    private static RouteConfig? HostGwRoute(NodeIdentity other, IpPrefix cidr, UplinkConfig? uplink, ObjectWarningCollector warn)
    {
        IpAddress? via = cidr.IsV4 ? other.InternalIp : other.InternalIpV6;
        if (via is not { } nextHop)
        {
            warn.Add($"has no {ApiAddresses.Family(cidr.IsV4)} InternalIP (status.addresses) to route its pod CIDR {cidr} to: no route");
            return null;
        }

        if (NextHopProblem(nextHop, uplink) is { } problem)
        {
            warn.Add($"pod CIDR {cidr} via {nextHop}: {problem}; host-gw routes need every node on one L2 segment, use vxlan (node.vxlan) across subnets: no route");
            return null;
        }

        return new RouteConfig(cidr, nextHop, null);
    }

    private static RouteConfig? VxlanRoute(V1Node node, NodeIdentity other, IpPrefix cidr, VxlanConfig vxlan, UplinkConfig? uplink, ObjectWarningCollector warn)
    {
        IDictionary<string, string> annotations = node.Metadata.Annotations ?? new Dictionary<string, string>();
        if (!cidr.IsV4)
        {
            // flannel tunnels IPv6 pods in IPv6 (flannel-v6.N, public-ipv6, backend-v6-data), and this dataplane's
            // VTEP speaks VXLAN over the uplink's IPv4 only: no way to reach them, or to be reached back.
            warn.Add($"pod CIDR {cidr}: flannel tunnels IPv6 over an IPv6 VTEP ({FlannelAnnotations.PublicIpv6}, {FlannelAnnotations.BackendV6Data}), and this dataplane's VXLAN runs over IPv4 only: no route");
            return null;
        }

        string? type = annotations.TryGetValue(FlannelAnnotations.BackendType, out string? t) ? t : null;
        if (type is null || !annotations.TryGetValue(FlannelAnnotations.BackendData, out string? data))
        {
            warn.Add($"has no flannel VXLAN annotations ({FlannelAnnotations.BackendType}, {FlannelAnnotations.BackendData}): its VTEP is unknown until flannel (or a dataplane like this one) runs there; no route to {cidr}");
            return null;
        }

        if (type != FlannelAnnotations.VxlanBackend)
        {
            warn.Add($"{FlannelAnnotations.BackendType} is '{type}', not {FlannelAnnotations.VxlanBackend}: this node runs VXLAN (node.vxlan), the two cannot exchange pod traffic; no route to {cidr}");
            return null;
        }

        if (!FlannelAnnotations.TryParseVxlanData(data, out int vni, out MacAddress vtepMac, out string? problem))
        {
            warn.Add($"{FlannelAnnotations.BackendData}: {problem}; no route to {cidr}");
            return null;
        }

        if (vni != vxlan.Vni)
        {
            warn.Add($"{FlannelAnnotations.BackendData} has VNI {vni} and this node's is {vxlan.Vni} (node.vxlan.vni): each side would drop the other's frames; no route to {cidr}");
            return null;
        }

        if (vtepMac == vxlan.Mac)
        {
            warn.Add($"{FlannelAnnotations.BackendData} has VtepMAC {vtepMac}, this node's own (node.vxlan.mac): no route to {cidr}");
            return null;
        }

        IpAddress vtep;
        if (annotations.TryGetValue(FlannelAnnotations.PublicIp, out string? publicIp))
        {
            if (!ApiAddresses.TryParseUnicast(publicIp, out vtep) || !vtep.IsV4)
            {
                warn.Add($"{FlannelAnnotations.PublicIp} '{publicIp}' is not a unicast IPv4 address: no route to {cidr}");
                return null;
            }
        }
        else if (other.InternalIp is { } internalIp)
        {
            vtep = internalIp;
        }
        else
        {
            warn.Add($"has neither {FlannelAnnotations.PublicIp} nor an IPv4 InternalIP for its VTEP: no route to {cidr}");
            return null;
        }

        if (NextHopProblem(vtep, uplink) is { } vtepProblem)
        {
            warn.Add($"VTEP {vtep}: {vtepProblem}; this dataplane reaches VTEPs with ARP on the uplink, it has no routed underlay: no route to {cidr}");
            return null;
        }

        return new RouteConfig(cidr, vtep, null, vtepMac);
    }

    /// <summary>Why <paramref name="via"/> cannot be a next hop on the uplink (resolved with ARP/ND there); null when it can.</summary>
    private static string? NextHopProblem(IpAddress via, UplinkConfig? uplink)
    {
        if (uplink is null)
        {
            return "this node has no uplink (node.uplink) to reach other nodes through";
        }

        if (via.IsV4)
        {
            IpPrefix subnet = IpPrefix.Containing(uplink.Ip, uplink.PrefixLength);
            return !subnet.Contains(via) ? $"not on the uplink's subnet {subnet}"
                : via.V4 == uplink.Ip ? "that is this node's own uplink address"
                : null;
        }

        if (uplink.IpV6 is not { } ip6)
        {
            return "IPv6, and the uplink has no IPv6 address (node.uplink.ipV6)";
        }

        IpPrefix subnet6 = IpPrefix.Containing(ip6, uplink.PrefixLengthV6);
        return via.V6 == ip6 ? "that is this node's own uplink address"
            : !subnet6.Contains(via) && !via.V6.IsLinkLocal ? $"not on the uplink's subnet {subnet6}"
            : null;
    }

    /// <summary>
    /// Why a route to <paramref name="cidr"/> would be wrong: it overlaps this node's pod CIDRs (it would take this
    /// node's own pods' traffic) or a CIDR already routed to another node (which of the two has those pods?).
    /// </summary>
    private static string? OverlapProblem(IpPrefix cidr, List<IpPrefix> own, List<(IpPrefix Cidr, string Node)> claimed)
    {
        foreach (IpPrefix mine in own)
        {
            if (IpPrefix.Overlap(mine, cidr))
            {
                return $"this node's {mine}, whose pods it would take";
            }
        }

        foreach ((IpPrefix taken, string node) in claimed)
        {
            if (IpPrefix.Overlap(taken, cidr))
            {
                return $"node {node}'s {taken} (which of the two has those pods?)";
            }
        }

        return null;
    }

    private static IEnumerable<IpPrefix> OfFamilies(IpPrefix? v4, IpPrefix? v6)
    {
        if (v4 is { } a)
        {
            yield return a;
        }

        if (v6 is { } b)
        {
            yield return b;
        }
    }
}
