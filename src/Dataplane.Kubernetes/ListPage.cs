namespace Dataplane.Kubernetes;

/// <summary>One page of a list.</summary>
/// <param name="ResourceVersion">The list's resource version: every page of one paged list carries the same one, the
/// version of the snapshot the first page was read from.</param>
/// <param name="Continue">The token for the next page; null or empty on the last.</param>
public sealed record ListPage<T>(IReadOnlyList<T> Items, string? ResourceVersion, string? Continue);
