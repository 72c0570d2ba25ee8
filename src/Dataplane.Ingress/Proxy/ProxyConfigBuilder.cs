using System.Globalization;
using System.Net;
using Dataplane.Ingress.Routing;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Transforms;

namespace Dataplane.Ingress.Proxy;

/// <summary>
/// A snapshot as YARP configuration: a route per <see cref="IngressRoute"/>, a cluster per backend. YARP's own
/// routing cannot express Ingress matching (its host wildcards cover several labels, its paths ignore a trailing
/// slash), so every route matches every request to YARP and <see cref="IngressMatcherPolicy"/> keeps the one the
/// snapshot picks; the route carries its snapshot's generation and its index for that.
/// </summary>
internal static class ProxyConfigBuilder
{
    public const string GenerationKey = "dataplane.ingress/generation";
    public const string RouteKey = "dataplane.ingress/route";

    public static IReadOnlyList<RouteConfig> Routes(RoutingSnapshot snapshot)
    {
        string generation = snapshot.Generation.ToString(CultureInfo.InvariantCulture);
        var routes = new List<RouteConfig>(snapshot.Routes.Count);
        foreach (IngressRoute route in snapshot.Routes)
        {
            routes.Add(new RouteConfig
            {
                RouteId = route.RouteId,
                ClusterId = route.Backend.ClusterId,
                Order = route.Index,
                Match = new RouteMatch { Path = "/{**catch-all}" },
                // The generation makes every route differ from the last configuration's, so YARP rebuilds every
                // endpoint and each carries this snapshot (it keeps an unchanged route's endpoint otherwise).
                Metadata = new Dictionary<string, string>
                {
                    [GenerationKey] = generation,
                    [RouteKey] = route.Index.ToString(CultureInfo.InvariantCulture),
                },
            }
            // The backend sees the Host the client asked for, as behind ingress-nginx (YARP sends the destination's
            // by default). X-Forwarded-For/-Proto/-Host stay YARP's defaults: set, replacing what the client sent.
            .WithTransformUseOriginalHostHeader(useOriginal: true));
        }

        return routes;
    }

    public static IReadOnlyList<ClusterConfig> Clusters(RoutingSnapshot snapshot, LoadBalancing loadBalancing)
    {
        string policy = loadBalancing == LoadBalancing.PowerOfTwo ? LoadBalancingPolicies.PowerOfTwoChoices : LoadBalancingPolicies.RoundRobin;
        var clusters = new List<ClusterConfig>(snapshot.Backends.Count);
        foreach (IngressBackend backend in snapshot.Backends)
        {
            clusters.Add(new ClusterConfig
            {
                ClusterId = backend.ClusterId,
                LoadBalancingPolicy = policy,
                // Destinations keyed by ip:port, so one that stays keeps its state (requests in flight) across updates.
                // None: YARP answers 503, which is what ingress-nginx answers for a backend without endpoints.
                Destinations = backend.Destinations.ToDictionary(static d => d, static d => new DestinationConfig { Address = "http://" + d }, StringComparer.Ordinal),
                // Pods speak HTTP/1.1 in clear, as ingress-nginx talks to them; passive health checks stay off (YARP's default).
                HttpRequest = new ForwarderRequestConfig { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower },
            });
        }

        return clusters;
    }
}
