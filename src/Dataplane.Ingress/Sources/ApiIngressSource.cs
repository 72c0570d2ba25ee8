using Dataplane.Kubernetes;
using k8s;
using Microsoft.Extensions.Logging;

namespace Dataplane.Ingress.Sources;

/// <summary>
/// Objects from the API server: one informer per resource of <see cref="ApiResources.IngressController"/>, each on
/// its own task, with the informers' list, watch, 410-relist and backoff. While the API server is away the controller
/// keeps serving the last snapshot; the status says since when each watch has been cut off.
/// </summary>
public sealed class ApiIngressSource(IKubernetes client, InformerOptions? options = null) : IngressSource
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Func<InformerStatus>> _statuses = [];
    private Task _running = Task.CompletedTask;

    /// <summary>The API server's address, for logs and status.</summary>
    public string Server { get; } = client is k8s.Kubernetes k ? k.BaseUri.ToString().TrimEnd('/') : "the API server";

    internal override void Start(IngressObjectStore store, ILoggerFactory loggers)
    {
        ILogger logger = loggers.CreateLogger("Dataplane.Kubernetes.Informer");
        var ingresses = new ResourceInformer<k8s.Models.V1Ingress>(ApiResources.Ingresses, ListerWatchers.Ingresses(client), store.Ingresses, logger, options);
        var classes = new ResourceInformer<k8s.Models.V1IngressClass>(ApiResources.IngressClasses, ListerWatchers.IngressClasses(client), store.IngressClasses, logger, options);
        var services = new ResourceInformer<k8s.Models.V1Service>(ApiResources.Services, ListerWatchers.Services(client), store.Services, logger, options);
        var slices = new ResourceInformer<k8s.Models.V1EndpointSlice>(ApiResources.EndpointSlices, ListerWatchers.EndpointSlices(client), store.EndpointSlices, logger, options);
        var secrets = new ResourceInformer<k8s.Models.V1Secret>(ApiResources.Secrets, ListerWatchers.Secrets(client), store.Secrets, logger, options);

        // In ApiResources.IngressController order.
        _statuses.AddRange([() => ingresses.Status, () => classes.Status, () => services.Status, () => slices.Status, () => secrets.Status]);
        CancellationToken stop = _stop.Token;
        _running = Task.WhenAll(
            Task.Run(() => ingresses.RunAsync(stop)), Task.Run(() => classes.RunAsync(stop)), Task.Run(() => services.RunAsync(stop)),
            Task.Run(() => slices.RunAsync(stop)), Task.Run(() => secrets.RunAsync(stop)));
    }

    public override IngressSourceStatus Status(IngressObjectStore store)
        => new("api", Server, store.AllListed, null, null, [.. _statuses.Select(static s => s())]);

    public override void Dispose()
    {
        _stop.Cancel();
        // The informers return promptly when cancelled (their watch request is cancelled with them).
        _running.Wait(TimeSpan.FromSeconds(10));
        _stop.Dispose();
        client.Dispose();
        base.Dispose();
    }
}
