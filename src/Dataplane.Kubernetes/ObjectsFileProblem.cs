namespace Dataplane.Kubernetes;

/// <summary>
/// One problem found in an objects file, located like a compiler diagnostic: <c>cluster.yaml:41:15: cannot read
/// this Service: ...</c>, or <c>cluster.yaml: no such file</c> when it concerns the file as a whole.
/// </summary>
/// <param name="Line">1-based; 0 when the problem is the file itself.</param>
/// <param name="Column">1-based; 0 together with <paramref name="Line"/>.</param>
public sealed record ObjectsFileProblem(string File, int Line, int Column, string Problem)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}: {Problem}" : $"{File}: {Problem}";
}
