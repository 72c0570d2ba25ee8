using Dataplane.Kubernetes;

namespace Dataplane.Tests.Kubernetes;

/// <summary>A resource <see cref="FakeApiServer"/> serves: one of <see cref="ApiResources"/> (the node's and the ingress controller's), and whether it lives in namespaces.</summary>
internal sealed record FakeResource(ApiResource Api, bool Namespaced)
{
    public static FakeResource Services { get; } = new(ApiResources.Services, Namespaced: true);

    public static FakeResource EndpointSlices { get; } = new(ApiResources.EndpointSlices, Namespaced: true);

    public static FakeResource Nodes { get; } = new(ApiResources.Nodes, Namespaced: false);

    public static FakeResource Ingresses { get; } = new(ApiResources.Ingresses, Namespaced: true);

    public static FakeResource IngressClasses { get; } = new(ApiResources.IngressClasses, Namespaced: false);

    public static FakeResource Secrets { get; } = new(ApiResources.Secrets, Namespaced: true);

    public static IReadOnlyList<FakeResource> All { get; } = [Services, EndpointSlices, Nodes, Ingresses, IngressClasses, Secrets];

    /// <summary>"v1" for the core group, "group/version" otherwise, as objects' <c>apiVersion</c> says.</summary>
    public string ApiVersion => Api.Group.Length == 0 ? Api.Version : $"{Api.Group}/{Api.Version}";

    /// <summary>"/api/v1" for the core group, "/apis/group/version" otherwise.</summary>
    public string PathPrefix => Api.Group.Length == 0 ? $"/api/{Api.Version}" : $"/apis/{Api.Group}/{Api.Version}";

    public static FakeResource Of(ApiResource api) => All.Single(r => r.Api == api);

    public static FakeResource OfKind(string kind) =>
        All.SingleOrDefault(r => r.Api.Kind == kind) ?? throw new ArgumentException($"the fake API server does not serve kind {kind}");
}
