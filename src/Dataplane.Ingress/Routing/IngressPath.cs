namespace Dataplane.Ingress.Routing;

/// <summary>
/// One rule path and how it matches a request path, per the Ingress spec
/// (https://kubernetes.io/docs/concepts/services-networking/ingress/#examples): an Exact path equals the request path;
/// a Prefix (and, here, ImplementationSpecific) path matches element by element split on <c>/</c>, its trailing slash
/// ignored. Matching is case-sensitive, on the decoded path as Kestrel gives it.
/// </summary>
public sealed record IngressPath
{
    /// <summary>
    /// For a prefix, the path without its trailing slashes ("" for <c>/</c>, which matches everything); unused for Exact.
    /// </summary>
    private readonly string _prefix;

    private IngressPath(string path, IngressPathType type, string prefix)
    {
        Path = path;
        Type = type;
        _prefix = prefix;
    }

    /// <summary>The path as the rule wrote it.</summary>
    public string Path { get; }

    public IngressPathType Type { get; }

    /// <summary>Exact paths match whole; the others as an element-wise prefix.</summary>
    public bool IsExact => Type == IngressPathType.Exact;

    /// <summary>
    /// How specific the match is, for "the longest matching path wins": an Exact path's length, a prefix's length
    /// without its trailing slash (so Prefix <c>/foo/</c> and Exact <c>/foo</c> tie, and Exact wins the tie).
    /// </summary>
    public int Length => IsExact ? Path.Length : _prefix.Length;

    /// <summary>What two rules must share to be the same rule (a conflict): Prefix <c>/foo</c> and <c>/foo/</c> are one.</summary>
    public string MatchKey => IsExact ? "=" + Path : "^" + _prefix;

    /// <summary>A path that starts with <c>/</c>; null and a reason otherwise.</summary>
    public static IngressPath? Create(string? path, IngressPathType type, out string? problem)
    {
        // The API defaults an empty ImplementationSpecific path to "/" in effect (ingress-nginx does); Prefix and Exact
        // paths must be absolute, which the API server validates and a file may not.
        if (string.IsNullOrEmpty(path))
        {
            if (type == IngressPathType.Exact)
            {
                problem = "pathType Exact needs a path";
                return null;
            }

            path = "/";
        }

        if (path[0] != '/')
        {
            problem = $"path '{path}' does not start with '/'";
            return null;
        }

        problem = null;
        return new IngressPath(path, type, type == IngressPathType.Exact ? "" : path.TrimEnd('/'));
    }

    /// <summary>Whether <paramref name="requestPath"/> (as Kestrel decodes it; never empty) falls under this path.</summary>
    public bool Matches(string requestPath)
    {
        if (IsExact)
        {
            return string.Equals(requestPath, Path, StringComparison.Ordinal);
        }

        // "/foo" matches "/foo", "/foo/", "/foo/bar"; not "/foobar". The prefix "" (from "/") matches every path.
        return requestPath.StartsWith(_prefix, StringComparison.Ordinal)
            && (requestPath.Length == _prefix.Length || requestPath[_prefix.Length] == '/');
    }

    public override string ToString() => $"{Path} ({Type})";
}
