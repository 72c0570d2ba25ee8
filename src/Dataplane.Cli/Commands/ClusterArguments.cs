using Dataplane.Daemon;
using k8s;
using Microsoft.Extensions.Logging;

namespace Dataplane.Cli.Commands;

/// <summary>
/// `run`'s choice of where services and routes come from: node.yaml alone; the API server (<c>--kubeconfig</c>, or
/// <c>--node-name</c> in a pod with a service account); or an objects file (<c>--objects</c>). Contradictions are one
/// line naming the options, before anything is made.
/// </summary>
internal sealed class ClusterArguments
{
    private readonly string? _kubeconfig;
    private readonly bool _api;
    private readonly FileInfo? _objects;
    private readonly string? _nodeName;

    private ClusterArguments(string? kubeconfig, bool api, FileInfo? objects, string? nodeName, string? problem)
    {
        _kubeconfig = kubeconfig;
        _api = api;
        _objects = objects;
        _nodeName = nodeName;
        Problem = problem;
    }

    public string? Problem { get; }

    public static ClusterArguments From(FileInfo? kubeconfig, FileInfo? objects, string? nodeName, FileInfo? config)
    {
        nodeName ??= Environment.GetEnvironmentVariable("NODE_NAME") is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
        bool inCluster = kubeconfig is null && objects is null && nodeName is not null && KubernetesClientConfiguration.IsInCluster();
        bool api = kubeconfig is not null || inCluster;
        string? problem = (api, objects, nodeName, config) switch
        {
            (true, not null, _, _) => "--kubeconfig and --objects are two sources of the same objects; give one",
            (true, null, null, _) => "--kubeconfig needs --node-name (or NODE_NAME): which Node object is this node",
            (false, not null, null, null) => "--objects without --config needs --node-name (or NODE_NAME): the file's Node for this node gives its pod CIDRs",
            (false, null, _, null) => "--config is required (or follow a cluster: --kubeconfig PATH --node-name NAME, or --objects FILE)",
            _ => null,
        };
        return new ClusterArguments(kubeconfig?.FullName, api, objects, nodeName, problem);
    }

    /// <summary>Where the objects come from, for messages.</summary>
    public string Describe() => _objects?.FullName ?? "the API server";

    /// <summary>Connects or reads; null when the node follows no cluster. Throws <see cref="OperationCanceledException"/> when stopped while waiting.</summary>
    public ClusterStart? Start(ILoggerFactory loggers, CancellationToken cancel)
    {
        if (_api)
        {
            return ClusterStart.FromApi(_kubeconfig, _nodeName!, loggers, cancel);
        }

        return _objects is null ? null : ClusterStart.FromFile(_objects.FullName, _nodeName ?? "", loggers);
    }
}
