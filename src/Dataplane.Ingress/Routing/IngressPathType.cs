namespace Dataplane.Ingress.Routing;

/// <summary>An Ingress path's <c>pathType</c>, as the networking.k8s.io/v1 API spells it.</summary>
public enum IngressPathType
{
    /// <summary>The request path equals the rule's, case-sensitively (<c>/foo</c> does not match <c>/foo/</c>).</summary>
    Exact,

    /// <summary>Element-wise prefix: <c>/foo</c> (or <c>/foo/</c>) matches <c>/foo</c>, <c>/foo/</c>, <c>/foo/bar</c>, not <c>/foobar</c>.</summary>
    Prefix,

    /// <summary>Up to the controller. Ours treats it exactly as <see cref="Prefix"/> (ingress-nginx, without its regex
    /// annotation, does a plain nginx prefix that also lets <c>/foo</c> match <c>/foobar</c>; we keep the spec's element-wise rule).</summary>
    ImplementationSpecific,
}
