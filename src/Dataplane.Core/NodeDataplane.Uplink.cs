using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane;

/// <summary>The uplink's routes: the node's own addresses, the connected subnet and the default routes.</summary>
public sealed partial class NodeDataplane
{
    /// <summary>
    /// The uplink's addresses go to ip-local, or with a host port to the node's kernel (services and NodePorts were
    /// served before the lookup, by conntrack). Its subnet is a connected route whose hosts are resolved one by one
    /// (a glean adjacency and the neighbour table, as a host's kernel does); <c>gateway</c> and <c>gatewayV6</c> are
    /// the default routes' next hops. A /32 (/128) uplink address has no subnet beyond itself, so no connected route.
    /// </summary>
    private void UplinkRoutes(UplinkConfig uplink, int local)
    {
        ushort uplinkPort = Uplink!.Id;
        int own = HostPort is { } host
            ? Adjacencies.Add(new Adjacency { Kind = AdjacencyKind.Host, Port = host.Id, Mac = host.Mac.Value, Static = true })
            : local;
        AddRoute(new IpPrefix(uplink.Ip, 32), own);
        if (uplink.IpV6 is { } uplink6)
        {
            AddRoute(new IpPrefix(uplink6, 128), own);
        }

        int glean = Adjacencies.Add(new Adjacency { Kind = AdjacencyKind.Glean, Port = uplinkPort, Static = true });
        if (uplink.PrefixLength < 32)
        {
            IpPrefix subnet = IpPrefix.Containing(uplink.Ip, uplink.PrefixLength);
            AddRoute(subnet, glean);
            Adjacencies.Neighbors.AddConnected(subnet);
        }

        if (uplink.IpV6 is { } ip6 && uplink.PrefixLengthV6 < 128)
        {
            IpPrefix subnet6 = IpPrefix.Containing(ip6, uplink.PrefixLengthV6);
            AddRoute(subnet6, glean);
            Adjacencies.Neighbors.AddConnected(subnet6);
        }

        if (uplink.Gateway is { } gateway)
        {
            AddRoute(new IpPrefix(Ip4Address.Any, 0), Adjacencies.AddNextHop(gateway, uplinkPort, uplink.GatewayMac));
        }

        if (uplink.GatewayV6 is { } gateway6)
        {
            AddRoute(new IpPrefix(Ip6Address.Any, 0), Adjacencies.AddNextHop(gateway6, uplinkPort, null));
        }
    }
}
