using Dataplane.Kubernetes;

namespace Dataplane.Ingress.Sources;

/// <summary>Where the controller's objects come from and how that is going, for <c>ingress status</c> and /readyz.</summary>
/// <param name="Kind"><c>file</c> or <c>api</c>.</param>
/// <param name="Location">The objects file's path, or the API server's address.</param>
/// <param name="Synced">Every kind listed (or the file read) at least once.</param>
/// <param name="LoadedAt">When the file was last read successfully; null for the API.</param>
/// <param name="LastError">The file's last reload failure (the objects read before are still served); null for the API, whose informers say theirs.</param>
public sealed record IngressSourceStatus(string Kind, string Location, bool Synced, DateTimeOffset? LoadedAt, string? LastError, IReadOnlyList<InformerStatus> Informers);
