using System.Net;
using System.Net.Sockets;
using Dataplane.Protocol;

namespace Dataplane.Cni;

/// <summary>
/// Who installs which route. The daemon always gives the pod a default route via each gateway it is handed
/// (0.0.0.0/0 via the IPv4 one, ::/0 via the IPv6 one), and installs the other routes it is sent. So an IPAM default
/// route via that same gateway (or none) is not sent again, and the result reports the defaults the daemon installs
/// where IPAM listed none, so the runtime (and a chained plugin) sees the pod's real routes.
/// </summary>
internal static class PodRoutes
{
    /// <summary>The routes to send with pod-add: IPAM's, less the defaults the daemon installs anyway.</summary>
    public static IReadOnlyList<PodRoute> ForDaemon(CniResult ipam) =>
        (ipam.Routes ?? [])
            .Where(r => !(IsDefault(r.Dst, out AddressFamily family) && (r.Gw is null || SameAddress(r.Gw, GatewayOf(ipam, family)))))
            .Select(static r => new PodRoute(r.Dst, r.Gw))
            .ToList();

    /// <summary>The routes to report: IPAM's, plus a default via the gateway for each family IPAM gave none for.</summary>
    public static IReadOnlyList<CniRoute> ForResult(CniResult ipam)
    {
        var routes = new List<CniRoute>(ipam.Routes ?? []);
        foreach ((AddressFamily family, string dst) in (ReadOnlySpan<(AddressFamily, string)>)[(AddressFamily.InterNetwork, "0.0.0.0/0"), (AddressFamily.InterNetworkV6, "::/0")])
        {
            if (GatewayOf(ipam, family) is { } gateway && !routes.Any(r => IsDefault(r.Dst, out AddressFamily f) && f == family))
            {
                routes.Add(new CniRoute { Dst = dst, Gw = gateway });
            }
        }

        return routes;
    }

    private static string? GatewayOf(CniResult ipam, AddressFamily family) =>
        ipam.Ips?.FirstOrDefault(ip => ip.Gateway is not null && (ip.IsIPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork) == family)?.Gateway;

    private static bool SameAddress(string a, string? b) =>
        b is not null && IPAddress.TryParse(a, out IPAddress? x) && IPAddress.TryParse(b, out IPAddress? y) && x.Equals(y);

    private static bool IsDefault(string cidr, out AddressFamily family)
    {
        bool parsed = IPNetwork.TryParse(cidr, out IPNetwork network);
        family = parsed ? network.BaseAddress.AddressFamily : AddressFamily.Unspecified;
        return parsed && network.PrefixLength == 0;
    }
}
