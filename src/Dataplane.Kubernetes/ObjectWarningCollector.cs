namespace Dataplane.Kubernetes;

/// <summary>Adds <see cref="ObjectWarning"/>s about one object to a shared list, each naming the object.</summary>
internal sealed class ObjectWarningCollector(string kind, string ns, string name, List<ObjectWarning> into)
{
    public void Add(string problem) => into.Add(new ObjectWarning(kind, ns, name, problem));
}
