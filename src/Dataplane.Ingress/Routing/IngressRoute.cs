namespace Dataplane.Ingress.Routing;

/// <summary>
/// One path of one Ingress rule, or an Ingress's <c>defaultBackend</c> for a host (<see cref="Path"/> null), as the
/// proxy serves it. <see cref="Index"/> is its place in <see cref="RoutingSnapshot.Routes"/>, and its YARP route id.
/// </summary>
/// <param name="Ingress">The Ingress that defines it, <c>namespace/name</c>.</param>
/// <param name="Host">The rule's host, lowercased: exact, <c>*.</c> wildcard, or "" for every host.</param>
/// <param name="Path">The rule path; null for a default backend (what a host answers when no path matches).</param>
public sealed record IngressRoute(int Index, string Ingress, string Host, IngressPath? Path, IngressBackend Backend)
{
    public bool IsDefaultBackend => Path is null;

    /// <summary>
    /// How metrics and status name it: <c>namespace/ingress host path</c>, with <c>*</c> for a rule without host and
    /// <c>(default)</c> for a default backend, e.g. <c>shop/web api.example.com /v1</c>.
    /// </summary>
    public string Label => $"{Ingress} {(Host.Length == 0 ? "*" : Host)} {Path?.Path ?? "(default)"}";

    /// <summary>The YARP route id: the index, so ids are unique whatever the paths hold (YARP compares ids ignoring case).</summary>
    public string RouteId => $"route-{Index}";

    public override string ToString() => Label;
}
