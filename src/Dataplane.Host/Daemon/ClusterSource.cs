using Dataplane.Kubernetes;
using k8s;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// Where a node in a cluster takes its services and routes from: the API server's watch (<see cref="WatchApi"/>), or a
/// file of objects (<see cref="ReadFile"/>, re-read on SIGHUP). Either way the objects go through one
/// <see cref="ClusterSync"/>; route changes are applied with the workers paused, service changes by snapshot swap.
/// The informers run on their own tasks, so the API being slow or away never stalls a worker: the node keeps
/// forwarding with the last state it was given and <see cref="Status"/> says since when it has been cut off.
/// </summary>
public sealed class ClusterSource : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private readonly string? _objectsPath;
    private Task? _watching;

    private ClusterSource(ClusterSync sync, ClusterInformers? informers, string? objectsPath, ILogger logger)
    {
        Sync = sync;
        Informers = informers;
        _objectsPath = objectsPath;
        _logger = logger;
    }

    public ClusterSync Sync { get; }

    /// <summary>The API server's informers; null when the objects come from a file.</summary>
    public ClusterInformers? Informers { get; }

    /// <summary>Starts watching the API server; the node is programmed once all three kinds are listed.</summary>
    public static ClusterSource WatchApi(NodeDaemon daemon, IKubernetes client, ILoggerFactory loggers)
    {
        ILogger logger = loggers.CreateLogger("dataplane.cluster");
        string server = client is k8s.Kubernetes k ? k.BaseUri.ToString().TrimEnd('/') : "the API server";
        ClusterSync sync = NewSync(daemon, logger, server);
        var informers = new ClusterInformers(client, sync.Services, sync.EndpointSlices, sync.Nodes, loggers);
        var source = new ClusterSource(sync, informers, null, logger);
        source._watching = Task.Run(() => informers.RunAsync(source._stop.Token));
        logger.LogInformation("node {Node}: watching services, endpointslices and nodes at {Server}", daemon.Config.Node.Name, server);
        return source;
    }

    /// <summary>Programs the node from an objects file already read (<see cref="ClusterObjectsFile"/>); SIGHUP re-reads it.</summary>
    public static ClusterSource ReadFile(NodeDaemon daemon, string path, ClusterObjects objects, ILoggerFactory loggers)
    {
        ILogger logger = loggers.CreateLogger("dataplane.cluster");
        ClusterSync sync = NewSync(daemon, logger, path);
        sync.Load(objects);
        return new ClusterSource(sync, null, path, logger);
    }

    /// <summary>SIGHUP: re-reads the objects file; a file with errors leaves the node as it was.</summary>
    public void Reload()
    {
        if (_objectsPath is null)
        {
            _logger.LogInformation("reload: services follow the API server's watch; nothing to re-read");
            return;
        }

        if (ClusterObjectsFile.Read(_objectsPath, _logger) is { } objects)
        {
            Sync.Load(objects);
        }
        else
        {
            _logger.LogError("reload: {Path} has errors; still running the objects read before", _objectsPath);
        }
    }

    public ClusterStatus Status() => new(Sync.Status(), Informers?.Statuses ?? []);

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _watching?.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException ex)
        {
            _logger.LogWarning(ex, "the informers did not stop cleanly");
        }

        _stop.Dispose();
    }

    private static ClusterSync NewSync(NodeDaemon daemon, ILogger logger, string source)
        => new(daemon.Config.Node.Name, daemon.Config.Node, daemon.Dataplane.ServiceController, daemon.ApplyRoutes, logger, source);
}

/// <summary>What <c>ctl status</c> shows of the cluster: what is programmed, and how each informer is doing.</summary>
public sealed record ClusterStatus(ClusterSyncStatus Sync, IReadOnlyList<InformerStatus> Informers);
