using Dataplane.Model;
using Dataplane.Packets;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Config;

/// <summary>
/// The <c>routes:</c> list: other nodes' pod CIDRs, each through a next hop on the uplink's own subnet, because
/// the dataplane resolves a next hop with ARP/ND on the uplink and has no recursive lookup.
/// </summary>
internal sealed partial class NodeConfigParser
{
    private static readonly string[] s_routeKeys = ["cidr", "via", "viaMac", "vtep", "vtepMac"];

    private List<RouteConfig> ReadRoutes(ConfigMapping top)
    {
        var routes = new List<RouteConfig>();
        IReadOnlyList<(YamlNode Item, string Path)> items = top.Sequence("routes");
        if (items.Count > 0 && !_hasUplink)
        {
            top.Error("routes", "routes need node.uplink, which is not set: next hops are reached through the uplink");
        }

        var cidrs = new Dictionary<IpPrefix, string>();
        foreach ((YamlNode item, string path) in items)
        {
            if (_reader.Mapping(item, path, s_routeKeys) is not { } m)
            {
                continue;
            }

            IpPrefix? cidr = m.Prefix("cidr", required: true);
            if (cidr is { } prefix)
            {
                if (RouteCidrProblem(prefix) is { } problem)
                {
                    m.Error("cidr", problem);
                }
                else if (!cidrs.TryAdd(prefix, m.PathOf("cidr")))
                {
                    m.Error("cidr", Duplicate(prefix, cidrs[prefix]));
                }
            }

            if (m.Has("vtep"))
            {
                if (ReadVxlanRoute(m, cidr) is { } vxlanRoute)
                {
                    routes.Add(vxlanRoute);
                }

                continue;
            }

            IpAddress? via = m.Ip("via", required: true);
            if (via is { } nextHop && NextHopProblem(nextHop, cidr) is { } viaProblem)
            {
                m.Error("via", viaProblem);
            }

            MacAddress? viaMac = m.Mac("viaMac");
            if (viaMac is { } mac && mac == _uplinkMac)
            {
                m.Error("viaMac", $"'{mac}' is node.uplink.mac; the next hop is another machine");
            }

            if (cidr is not null && via is not null)
            {
                routes.Add(new RouteConfig(cidr.Value, via.Value, viaMac));
            }
        }

        return routes;
    }

    /// <summary>
    /// A route inside the node's pod CIDR would shadow local pods. One covering it (a cluster-wide /16) would lose
    /// to the longer local prefix and so is harmless to forwarding, but it is refused as well so that each route
    /// names one other node's pod CIDR; relax this if a covering cluster route is ever wanted.
    /// </summary>
    private string? RouteCidrProblem(IpPrefix cidr)
    {
        (IpPrefix? own, string key) = cidr.IsV4 ? (_podCidr, "node.podCidr") : (_podCidrV6, "node.podCidrV6");
        if (own is not { } local || !IpPrefix.Overlap(cidr, local))
        {
            return null;
        }

        return local.Contains(cidr.Address) && cidr.Length >= local.Length
            ? $"'{cidr}' overlaps {key} {local}: it would shadow this node's own pods"
            : $"'{cidr}' overlaps {key} {local} by containing it: list the other nodes' pod CIDRs instead of a covering prefix";
    }

    private string? NextHopProblem(IpAddress via, IpPrefix? cidr)
    {
        if (cidr is { } prefix && prefix.IsV4 != via.IsV4)
        {
            return $"'{via}' is {Family(via.IsV4)} but cidr {prefix} is {Family(prefix.IsV4)}: the next hop must be the same family";
        }

        if (via.IsV4)
        {
            Ip4Address v4 = via.V4;
            if (v4.IsZero || v4.IsMulticast || v4.IsLimitedBroadcast)
            {
                return $"'{v4}' is not a unicast address";
            }

            if (_uplinkSubnet is not { } subnet)
            {
                return null;
            }

            if (!subnet.Contains(v4))
            {
                return $"'{v4}' is not on the uplink's subnet {subnet} (node.uplink.ip): a next hop must be directly reachable";
            }

            if (v4 == _uplinkIp)
            {
                return $"'{v4}' is node.uplink.ip itself; the next hop is another machine";
            }

            return AddressRules.IsReservedV4(subnet, v4) ? $"'{v4}' is the {NetworkOrBroadcast(subnet, v4)} address of the uplink's subnet {subnet}" : null;
        }

        Ip6Address v6 = via.V6;
        if (v6.IsZero || v6.IsMulticast)
        {
            return $"'{v6}' is not a unicast address";
        }

        if (_hasUplink && !_hasUplinkIpV6)
        {
            return $"'{v6}' is IPv6, which needs node.uplink.ipV6 (not set)";
        }

        if (_uplinkSubnetV6 is not { } subnet6)
        {
            return null;
        }

        if (v6 == _uplinkIpV6)
        {
            return $"'{v6}' is node.uplink.ipV6 itself; the next hop is another machine";
        }

        return v6.IsLinkLocal || subnet6.Contains(v6)
            ? null
            : $"'{v6}' is neither on the uplink's subnet {subnet6} (node.uplink.ipV6) nor link-local (fe80::/10): a next hop must be directly reachable";
    }

    private static string Family(bool v4) => v4 ? "IPv4" : "IPv6";
}
