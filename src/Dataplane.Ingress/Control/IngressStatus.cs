using Dataplane.Ingress.Sources;

namespace Dataplane.Ingress.Control;

/// <summary>What <c>GET /status</c> answers and <c>dataplane ingress status</c> prints: the snapshot being served and where it came from.</summary>
/// <param name="Generation">The snapshot's number (0 before the first).</param>
/// <param name="Ingresses">Ingresses of our class translated.</param>
/// <param name="IgnoredIngresses">Ingresses of other classes, left alone.</param>
/// <param name="Warnings">What could not be used, each naming its Ingress.</param>
public sealed record IngressStatus(
    long Generation,
    DateTimeOffset? AppliedAt,
    string IngressClass,
    int Ingresses,
    int IgnoredIngresses,
    IngressListeners Listeners,
    IngressSourceStatus Source,
    IReadOnlyList<RouteStatus> Routes,
    IReadOnlyList<TlsHostStatus> Tls,
    IReadOnlyList<string> Warnings);

/// <summary>Where the controller listens.</summary>
public sealed record IngressListeners(string Http, string? Https, string ControlSocket, string? Metrics);

/// <summary>One route, in the order requests try them (per host: longest path first, then the host's default backend).</summary>
/// <param name="Route">The metrics label: <c>namespace/ingress host path</c>.</param>
/// <param name="Host">The rule host; <c>*</c> for every host.</param>
/// <param name="Path">"" for a default backend.</param>
/// <param name="PathType">Exact, Prefix, ImplementationSpecific, or Default (a default backend).</param>
/// <param name="Backend"><c>namespace/service:port</c>.</param>
/// <param name="Destinations">The ready endpoints requests go to, <c>ip:port</c>.</param>
/// <param name="Problem">Why there are none (the route answers 503); null otherwise.</param>
public sealed record RouteStatus(string Route, string Ingress, string Host, string Path, string PathType, string Backend, IReadOnlyList<string> Destinations, string? Problem);

/// <summary>One TLS host and the certificate SNI picks for it.</summary>
public sealed record TlsHostStatus(string Host, string Secret, string Subject, DateTimeOffset NotAfter, IReadOnlyList<string> DnsNames);
