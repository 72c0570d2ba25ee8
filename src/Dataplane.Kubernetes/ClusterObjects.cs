using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>
/// The objects the node reads from a cluster (<see cref="ApiResources.All"/>), at one moment: what a list returns,
/// or what an objects file (<see cref="ObjectsFile"/>) holds. The translators turn it into the core's model:
/// <see cref="ServiceTranslator.TranslateAll"/> and <see cref="NodeTranslator.Translate"/>.
/// </summary>
public sealed record ClusterObjects(
    IReadOnlyList<V1Service> Services,
    IReadOnlyList<V1EndpointSlice> EndpointSlices,
    IReadOnlyList<V1Node> Nodes)
{
    public static ClusterObjects Empty { get; } = new([], [], []);
}
