using System.Collections.Frozen;
using Dataplane.Ingress.Tls;
using Dataplane.Kubernetes;

namespace Dataplane.Ingress.Routing;

/// <summary>
/// Everything the controller serves at one moment, made by <see cref="IngressTranslator"/> from one set of objects
/// and never changed after: the routes per host, their backends, the TLS certificates per host, and what was wrong
/// with the input. The proxy swaps in a new snapshot whole; a request (and a TLS handshake) sees one snapshot only.
/// <para>
/// A request picks its host first, as ingress-nginx picks an nginx server: the exact host, else the one-label wildcard
/// covering it, else the rules without a host. Then the longest matching path of that host, else that host's
/// default backend, else nothing (404). So a host with rules never falls through to the host-less rules, as with
/// ingress-nginx.
/// </para>
/// </summary>
public sealed class RoutingSnapshot
{
    private readonly FrozenDictionary<string, HostRoutes> _exact;
    private readonly FrozenDictionary<string, HostRoutes> _wildcard;
    private readonly HostRoutes? _anyHost;

    internal RoutingSnapshot(
        long generation,
        IReadOnlyList<IngressRoute> routes,
        IEnumerable<HostRoutes> hosts,
        TlsCertificates certificates,
        IReadOnlyList<ObjectWarning> warnings,
        int ingresses,
        int ignoredIngresses)
    {
        Generation = generation;
        Routes = routes;
        var exact = new Dictionary<string, HostRoutes>(StringComparer.Ordinal);
        var wildcard = new Dictionary<string, HostRoutes>(StringComparer.Ordinal);
        foreach (HostRoutes host in hosts)
        {
            if (host.Host.Length == 0)
            {
                _anyHost = host;
            }
            else if (host.Host.StartsWith("*.", StringComparison.Ordinal))
            {
                wildcard[host.Host[2..]] = host;
            }
            else
            {
                exact[host.Host] = host;
            }
        }

        _exact = exact.ToFrozenDictionary(StringComparer.Ordinal);
        _wildcard = wildcard.ToFrozenDictionary(StringComparer.Ordinal);
        Hosts = [.. _exact.Values.Concat(_wildcard.Values).Concat(_anyHost is null ? [] : [_anyHost]).OrderBy(static h => h.Host, StringComparer.Ordinal)];
        Backends = [.. routes.Select(static r => r.Backend).DistinctBy(static b => b.ClusterId).OrderBy(static b => b.ClusterId, StringComparer.Ordinal)];
        Certificates = certificates;
        Warnings = warnings;
        Ingresses = ingresses;
        IgnoredIngresses = ignoredIngresses;
    }

    /// <summary>Counts snapshots from 1; the proxy's routes carry it, so a request is matched against the snapshot its routes came from.</summary>
    public long Generation { get; }

    /// <summary>Every route, each at its <see cref="IngressRoute.Index"/>.</summary>
    public IReadOnlyList<IngressRoute> Routes { get; }

    /// <summary>Every host with rules, sorted ("" is the rules without a host).</summary>
    public IReadOnlyList<HostRoutes> Hosts { get; }

    /// <summary>The distinct backends (one YARP cluster each), by cluster id.</summary>
    public IReadOnlyList<IngressBackend> Backends { get; }

    public TlsCertificates Certificates { get; }

    /// <summary>What could not be used, each naming its Ingress.</summary>
    public IReadOnlyList<ObjectWarning> Warnings { get; }

    /// <summary>Ingresses of our class that were translated.</summary>
    public int Ingresses { get; }

    /// <summary>Ingresses of other classes (or of none, without a default class of ours): someone else's.</summary>
    public int IgnoredIngresses { get; }

    public static RoutingSnapshot Empty { get; } = new(0, [], [], TlsCertificates.None, [], 0, 0);

    /// <summary>
    /// Whether <paramref name="other"/> serves exactly the same: routes, backends and their endpoints, certificates,
    /// warnings. Most EndpointSlice and Service events concern no backend of ours; their rebuild changes nothing and
    /// is not swapped in.
    /// </summary>
    public bool Serves(RoutingSnapshot other)
        => Routes.SequenceEqual(other.Routes) && Warnings.SequenceEqual(other.Warnings)
            && Ingresses == other.Ingresses && IgnoredIngresses == other.IgnoredIngresses
            && Certificates.ByHost.Count == other.Certificates.ByHost.Count
            && Certificates.ByHost.All(c => other.Certificates.ByHost.TryGetValue(c.Key, out ServedCertificate? o)
                && o.Source == c.Value.Source && o.Certificate.Thumbprint == c.Value.Certificate.Thumbprint);

    /// <summary>The route for a request; null when nothing matches (the 404 default backend answers).</summary>
    /// <param name="host">The request's host without port, as <see cref="IngressHosts.Normalize"/> gives it.</param>
    /// <param name="path">The request's decoded path.</param>
    public IngressRoute? Match(string host, string path) => HostFor(host)?.Match(path);

    /// <summary>The host whose rules apply: exact, else the one-label wildcard, else the rules without a host.</summary>
    public HostRoutes? HostFor(string host)
    {
        if (_exact.TryGetValue(host, out HostRoutes? exact))
        {
            return exact;
        }

        if (_wildcard.Count > 0 && IngressHosts.WildcardKeyOf(host) is { } key && _wildcard.TryGetValue(key, out HostRoutes? wildcard))
        {
            return wildcard;
        }

        return _anyHost;
    }
}
