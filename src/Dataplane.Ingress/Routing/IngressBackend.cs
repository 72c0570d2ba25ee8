namespace Dataplane.Ingress.Routing;

/// <summary>
/// Where a path's requests go: a Service port of the Ingress's namespace and the ready endpoints behind it, each
/// <c>ip:targetPort</c> as the EndpointSlices resolve it. One YARP cluster per backend (<see cref="ClusterId"/>), so
/// every path naming the same service port shares its connections and its load balancing.
/// </summary>
/// <param name="Service">The service, <c>namespace/name</c>.</param>
/// <param name="Port">The port as the Ingress names it: a number (<c>80</c>) or a name (<c>http</c>).</param>
/// <param name="Destinations">Ready endpoints, <c>ip:port</c> (<c>[ip6]:port</c>), sorted. Empty: the path answers 503.</param>
/// <param name="Problem">Why there are no destinations (no such service, no such port, no ready endpoint); null when there are some.</param>
public sealed record IngressBackend(string Service, string Port, IReadOnlyList<string> Destinations, string? Problem)
{
    public string ClusterId => $"{Service}:{Port}";

    public bool Equals(IngressBackend? other)
        => other is not null && Service == other.Service && Port == other.Port && Problem == other.Problem
            && Destinations.SequenceEqual(other.Destinations, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Service, Port, Problem, Destinations.Count);

    public override string ToString() => $"{Service}:{Port}";
}
