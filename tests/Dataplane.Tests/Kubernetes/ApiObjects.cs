using Dataplane.Kubernetes;
using k8s;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// Kubernetes objects for the tests, in the shape the API serves them: the small cluster of Objects/cluster.yaml
/// (`kubectl get svc,endpointslices,nodes -A -o yaml`), or one object written inline as the API would print it.
/// </summary>
internal static class ApiObjects
{
    public static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "Kubernetes", "Objects", file);

    /// <summary>Objects/cluster.yaml, read with <see cref="ObjectsFile"/> (which must read it without a word).</summary>
    public static ClusterObjects Cluster()
    {
        ObjectsFileResult result = ObjectsFile.Read(PathOf("cluster.yaml"));
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        Assert.Empty(result.Warnings);
        return result.Objects;
    }

    /// <summary>One object from YAML, as KubernetesClient reads what the API serves.</summary>
    public static T Parse<T>(string yaml) => KubernetesYaml.Deserialize<T>(yaml);
}
