namespace Dataplane.Kubernetes;

/// <summary>
/// What <see cref="ObjectsFile"/> read: the objects it could (even when there were errors, so a caller may choose to
/// go on with them), how many objects of other kinds it passed over, and what went wrong, in file order.
/// </summary>
/// <param name="IgnoredKinds">Objects of kinds the node does not read (Pods, ConfigMaps, v1 Endpoints, ...), counted by kind.</param>
/// <param name="Errors">The file, or a document or object in it, could not be read.</param>
/// <param name="Warnings">An object was left out or replaced for a reason that is not a syntax problem (no kind, no
/// name, an API version the node does not read, the same object twice).</param>
public sealed record ObjectsFileResult(
    ClusterObjects Objects,
    IReadOnlyDictionary<string, int> IgnoredKinds,
    IReadOnlyList<ObjectsFileProblem> Errors,
    IReadOnlyList<ObjectsFileProblem> Warnings)
{
    public bool Succeeded => Errors.Count == 0;
}
