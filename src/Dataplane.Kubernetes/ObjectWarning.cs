namespace Dataplane.Kubernetes;

/// <summary>
/// Something in a Kubernetes object the node could not use, named the way kubectl and kube-proxy's logs name the
/// object: <c>Service shop/web: EndpointSlice web-4xk9p defines no port named 'http' (TCP) ...</c>, or for a
/// cluster-scoped object <c>Node worker-2: ...</c>. The object itself (or the rest of it) is still used where it can be.
/// </summary>
/// <param name="Kind">The object's kind (<c>Service</c>, <c>Node</c>).</param>
/// <param name="Namespace">Empty for cluster-scoped kinds (Nodes).</param>
/// <param name="Problem">What was left out and why, phrased so the fix is obvious.</param>
public sealed record ObjectWarning(string Kind, string Namespace, string Name, string Problem)
{
    public override string ToString()
        => Namespace.Length > 0 ? $"{Kind} {Namespace}/{Name}: {Problem}" : $"{Kind} {Name}: {Problem}";
}
