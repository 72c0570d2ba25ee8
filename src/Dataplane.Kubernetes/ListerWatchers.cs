using k8s;
using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>The resources of <see cref="ApiResources"/>, each bound to its KubernetesClient list operation (all namespaces).</summary>
public static class ListerWatchers
{
    public static IListerWatcher<V1Service> Services(IKubernetes client) =>
        new KubernetesListerWatcher<V1Service, V1ServiceList>((r, cancel) =>
            client.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null,
                cancellationToken: cancel));

    public static IListerWatcher<V1EndpointSlice> EndpointSlices(IKubernetes client) =>
        new KubernetesListerWatcher<V1EndpointSlice, V1EndpointSliceList>((r, cancel) =>
            client.DiscoveryV1.ListEndpointSliceForAllNamespacesWithHttpMessagesAsync(
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null,
                cancellationToken: cancel));

    public static IListerWatcher<V1Node> Nodes(IKubernetes client) =>
        new KubernetesListerWatcher<V1Node, V1NodeList>((r, cancel) =>
            client.CoreV1.ListNodeWithHttpMessagesAsync(
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null,
                cancellationToken: cancel));

    public static IListerWatcher<V1Ingress> Ingresses(IKubernetes client) =>
        new KubernetesListerWatcher<V1Ingress, V1IngressList>((r, cancel) =>
            client.NetworkingV1.ListIngressForAllNamespacesWithHttpMessagesAsync(
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null,
                cancellationToken: cancel));

    public static IListerWatcher<V1IngressClass> IngressClasses(IKubernetes client) =>
        new KubernetesListerWatcher<V1IngressClass, V1IngressClassList>((r, cancel) =>
            client.NetworkingV1.ListIngressClassWithHttpMessagesAsync(
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null,
                cancellationToken: cancel));

    public static IListerWatcher<V1Secret> Secrets(IKubernetes client) =>
        new KubernetesListerWatcher<V1Secret, V1SecretList>((r, cancel) =>
            client.CoreV1.ListSecretForAllNamespacesWithHttpMessagesAsync(
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null,
                cancellationToken: cancel));
}
