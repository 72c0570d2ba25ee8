using Dataplane.Config;
using Dataplane.Kubernetes;
using k8s;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// What a node in a cluster learns before it builds anything: the client or the objects file it will follow, and
/// what its own Node object says (<see cref="Identity"/>) for node.yaml to leave out. <see cref="Follow"/> then hands
/// the running daemon to the source.
/// </summary>
public sealed class ClusterStart
{
    private readonly IKubernetes? _client;
    private readonly string? _objectsPath;
    private readonly ClusterObjects? _objects;

    private ClusterStart(ClusterNodeIdentity? identity, string? error, IKubernetes? client, string? objectsPath, ClusterObjects? objects)
    {
        Identity = identity;
        Error = error;
        _client = client;
        _objectsPath = objectsPath;
        _objects = objects;
    }

    /// <summary>This node's name and pod CIDRs as the cluster has them; null when an objects file holds no Node for it.</summary>
    public ClusterNodeIdentity? Identity { get; }

    /// <summary>Why the node cannot follow the cluster (one line), or null.</summary>
    public string? Error { get; }

    /// <summary>
    /// The API server's client (from <paramref name="kubeconfig"/>, else in-cluster), and this node's pod CIDRs, waited
    /// for until they exist or <paramref name="cancel"/> fires (<see cref="OperationCanceledException"/>).
    /// </summary>
    public static ClusterStart FromApi(string? kubeconfig, string nodeName, ILoggerFactory loggers, CancellationToken cancel)
    {
        IKubernetes client;
        try
        {
            client = ApiServerClient.Create(kubeconfig);
        }
        catch (ApiServerConfigException ex)
        {
            return new ClusterStart(null, ex.Message, null, null, null);
        }

        ClusterNodeIdentity identity = ClusterNodeLookup.WaitForAsync(client, nodeName, loggers.CreateLogger("dataplane.cluster"), cancel).GetAwaiter().GetResult();
        return new ClusterStart(identity, null, client, null, null);
    }

    /// <summary>The objects in <paramref name="path"/>, and this node's pod CIDRs if the file holds its Node.</summary>
    public static ClusterStart FromFile(string path, string nodeName, ILoggerFactory loggers)
    {
        ClusterObjects? objects = ClusterObjectsFile.Read(path, loggers.CreateLogger("dataplane.cluster"));
        return objects is null
            ? new ClusterStart(null, $"{path}: the objects file has errors (above); nothing was started", null, null, null)
            : new ClusterStart(ClusterObjectsFile.Identity(objects, nodeName), null, null, path, objects);
    }

    /// <summary>The running daemon follows the source from now on.</summary>
    public ClusterSource Follow(NodeDaemon daemon, ILoggerFactory loggers)
        => _client is not null
            ? ClusterSource.WatchApi(daemon, _client, loggers)
            : ClusterSource.ReadFile(daemon, _objectsPath!, _objects!, loggers);
}
