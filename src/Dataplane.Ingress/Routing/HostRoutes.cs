namespace Dataplane.Ingress.Routing;

/// <summary>
/// The paths one host serves, gathered across every Ingress that names the host, in the order they are tried: the
/// longest path first, Exact before Prefix at equal length (the spec's precedence), then older Ingress first. The
/// first that matches wins; when none does, <see cref="Fallback"/> answers (an Ingress's <c>defaultBackend</c>), or
/// nothing does and the controller's 404 default backend answers.
/// </summary>
public sealed class HostRoutes
{
    private readonly IngressRoute[] _paths;

    public HostRoutes(string host, IEnumerable<IngressRoute> paths, IngressRoute? fallback)
    {
        Host = host;
        // OrderBy is stable: routes of equal length and kind keep the translator's order (older Ingress, rule order).
        _paths = [.. paths.OrderByDescending(static r => r.Path!.Length).ThenBy(static r => r.Path!.IsExact ? 0 : 1)];
        Fallback = fallback;
    }

    /// <summary>The rule host, lowercased (<c>*.example.com</c> for a wildcard, "" for rules without a host).</summary>
    public string Host { get; }

    public IReadOnlyList<IngressRoute> Paths => _paths;

    public IngressRoute? Fallback { get; }

    /// <summary>The route for <paramref name="path"/>: the most specific matching path, else the fallback (null: 404).</summary>
    public IngressRoute? Match(string path)
    {
        foreach (IngressRoute route in _paths)
        {
            if (route.Path!.Matches(path))
            {
                return route;
            }
        }

        return Fallback;
    }
}
