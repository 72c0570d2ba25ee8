using Dataplane.Ingress.Routing;

namespace Dataplane.Ingress.Proxy;

/// <summary>
/// Attached to each YARP route's endpoint: the route, and the snapshot it was built from. Requests are matched
/// against the snapshot of the endpoints routing hands them, never a newer one whose routes YARP has not built yet,
/// so a configuration swap cannot send a request to a route that does not exist (a spurious 404).
/// </summary>
public sealed record IngressEndpointMetadata(RoutingSnapshot Snapshot, IngressRoute Route);
