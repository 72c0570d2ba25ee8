using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Dataplane.Kubernetes;

/// <summary>
/// The three informers the node runs, one per resource of <see cref="ApiResources"/>, over one client. Each runs on
/// its own task and calls only its own handler, so the handlers of different kinds may run concurrently with each
/// other (never with themselves).
/// </summary>
public sealed class ClusterInformers
{
    public ClusterInformers(IKubernetes client, IResourceHandler<V1Service> services,
        IResourceHandler<V1EndpointSlice> endpointSlices, IResourceHandler<V1Node> nodes, ILoggerFactory loggers,
        InformerOptions? options = null)
    {
        // One category for all three: each message names its resource.
        ILogger logger = loggers.CreateLogger("Dataplane.Kubernetes.Informer");
        Services = new ResourceInformer<V1Service>(ApiResources.Services, ListerWatchers.Services(client), services, logger, options);
        EndpointSlices = new ResourceInformer<V1EndpointSlice>(ApiResources.EndpointSlices, ListerWatchers.EndpointSlices(client),
            endpointSlices, logger, options);
        Nodes = new ResourceInformer<V1Node>(ApiResources.Nodes, ListerWatchers.Nodes(client), nodes, logger, options);
    }

    public ResourceInformer<V1Service> Services { get; }

    public ResourceInformer<V1EndpointSlice> EndpointSlices { get; }

    public ResourceInformer<V1Node> Nodes { get; }

    /// <summary>The three informers' status, in <see cref="ApiResources.All"/> order.</summary>
    public IReadOnlyList<InformerStatus> Statuses => [Services.Status, EndpointSlices.Status, Nodes.Status];

    /// <summary>Every informer has handed its handler a complete list at least once (kube-proxy syncs no rules before this).</summary>
    public bool HasSynced => Services.Status.HasSynced && EndpointSlices.Status.HasSynced && Nodes.Status.HasSynced;

    /// <summary>Completes when all three have synced once.</summary>
    public Task FirstSync => Task.WhenAll(Services.FirstSync, EndpointSlices.FirstSync, Nodes.FirstSync);

    /// <summary>Runs the three until <paramref name="cancel"/> fires.</summary>
    public Task RunAsync(CancellationToken cancel) =>
        Task.WhenAll(Services.RunAsync(cancel), EndpointSlices.RunAsync(cancel), Nodes.RunAsync(cancel));
}
