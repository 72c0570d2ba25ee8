using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>
/// The objects read from a cluster at one moment: what a list returns, or what an objects file
/// (<see cref="ObjectsFile"/>) holds. The node reads Services, EndpointSlices and Nodes (<see cref="ApiResources.All"/>);
/// the translators turn them into the core's model: <see cref="ServiceTranslator.TranslateAll"/> and
/// <see cref="NodeTranslator.Translate"/>. The ingress controller also reads Ingresses, IngressClasses and Secrets
/// (<see cref="ApiResources.IngressController"/>), empty unless a source filled them.
/// </summary>
public sealed record ClusterObjects(
    IReadOnlyList<V1Service> Services,
    IReadOnlyList<V1EndpointSlice> EndpointSlices,
    IReadOnlyList<V1Node> Nodes)
{
    public static ClusterObjects Empty { get; } = new([], [], []);

    public IReadOnlyList<V1Ingress> Ingresses { get; init; } = [];

    public IReadOnlyList<V1IngressClass> IngressClasses { get; init; } = [];

    public IReadOnlyList<V1Secret> Secrets { get; init; } = [];
}
