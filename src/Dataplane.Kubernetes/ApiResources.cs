namespace Dataplane.Kubernetes;

/// <summary>One kind of object the node reads from the API server, and the verbs it uses on it.</summary>
/// <param name="Group">The API group ("" for the core group).</param>
/// <param name="Resource">The plural resource name, as RBAC rules name it.</param>
public sealed record ApiResource(string Group, string Version, string Resource, string Kind, IReadOnlyList<string> Verbs);

/// <summary>
/// Everything the daemon asks the API server for, in one place: the informers list and watch exactly these, and the
/// DaemonSet's ClusterRole grants exactly these (a test holds the two together).
/// </summary>
public static class ApiResources
{
    public static ApiResource Services { get; } = new("", "v1", "services", "Service", ["list", "watch"]);

    public static ApiResource EndpointSlices { get; } = new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", ["list", "watch"]);

    /// <summary>Nodes: also <c>get</c>, for this node's own object at start-up (its pod CIDRs) and in the CNI installer.</summary>
    public static ApiResource Nodes { get; } = new("", "v1", "nodes", "Node", ["get", "list", "watch"]);

    public static IReadOnlyList<ApiResource> All { get; } = [Services, EndpointSlices, Nodes];
}
