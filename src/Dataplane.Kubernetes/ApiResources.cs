namespace Dataplane.Kubernetes;

/// <summary>One kind of object the node (or the ingress controller) reads from the API server, and the verbs it uses on it.</summary>
/// <param name="Group">The API group ("" for the core group).</param>
/// <param name="Resource">The plural resource name, as RBAC rules name it.</param>
public sealed record ApiResource(string Group, string Version, string Resource, string Kind, IReadOnlyList<string> Verbs);

/// <summary>
/// Everything the daemon (<see cref="All"/>) and the ingress controller (<see cref="IngressController"/>) ask the API
/// server for, in one place: the informers list and watch exactly these, and the DaemonSet's ClusterRole grants exactly
/// <see cref="All"/> (a test holds the two together).
/// </summary>
public static class ApiResources
{
    public static ApiResource Services { get; } = new("", "v1", "services", "Service", ["list", "watch"]);

    public static ApiResource EndpointSlices { get; } = new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", ["list", "watch"]);

    /// <summary>Nodes: also <c>get</c>, for this node's own object at start-up (its pod CIDRs) and in the CNI installer.</summary>
    public static ApiResource Nodes { get; } = new("", "v1", "nodes", "Node", ["get", "list", "watch"]);

    /// <summary>The node daemon's resources; its ClusterRole grants exactly these (the ingress controller's are apart).</summary>
    public static IReadOnlyList<ApiResource> All { get; } = [Services, EndpointSlices, Nodes];

    public static ApiResource Ingresses { get; } = new("networking.k8s.io", "v1", "ingresses", "Ingress", ["list", "watch"]);

    public static ApiResource IngressClasses { get; } = new("networking.k8s.io", "v1", "ingressclasses", "IngressClass", ["list", "watch"]);

    /// <summary>Secrets: the ingress controller reads the <c>kubernetes.io/tls</c> ones its Ingresses name (all namespaces, as ingress-nginx does).</summary>
    public static ApiResource Secrets { get; } = new("", "v1", "secrets", "Secret", ["list", "watch"]);

    /// <summary>
    /// What <c>dataplane ingress</c> reads: its Ingresses and IngressClasses, the Services and EndpointSlices behind
    /// their backends, and the TLS Secrets. A separate process with its own role: the node daemon never reads Secrets.
    /// </summary>
    public static IReadOnlyList<ApiResource> IngressController { get; } = [Ingresses, IngressClasses, Services, EndpointSlices, Secrets];
}
