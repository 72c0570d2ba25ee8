using Dataplane.Ingress.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace Dataplane.Ingress.Proxy;

/// <summary>
/// Ingress matching inside ASP.NET routing: every YARP route is a candidate for every request, and this keeps the
/// one route the snapshot picks for the request's host and path (<see cref="RoutingSnapshot.Match"/>), or none (the
/// 404 default backend then answers). Candidates and snapshot come from the same configuration, through each
/// endpoint's <see cref="IngressEndpointMetadata"/>.
/// </summary>
internal sealed class IngressMatcherPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    // After routing's own policies (host, HTTP method), which our routes do not use anyway.
    public override int Order => 1000;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        foreach (Endpoint endpoint in endpoints)
        {
            if (endpoint.Metadata.GetMetadata<IngressEndpointMetadata>() is not null)
            {
                return true;
            }
        }

        return false;
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        RoutingSnapshot? snapshot = null;
        for (int i = 0; i < candidates.Count && snapshot is null; i++)
        {
            snapshot = candidates[i].Endpoint.Metadata.GetMetadata<IngressEndpointMetadata>()?.Snapshot;
        }

        if (snapshot is null)
        {
            return Task.CompletedTask;
        }

        HttpRequest request = httpContext.Request;
        IngressRoute? chosen = snapshot.Match(IngressHosts.Normalize(request.Host.Host), request.Path.HasValue ? request.Path.Value! : "/");
        for (int i = 0; i < candidates.Count; i++)
        {
            IngressEndpointMetadata? metadata = candidates[i].Endpoint.Metadata.GetMetadata<IngressEndpointMetadata>();
            candidates.SetValidity(i, chosen is not null && ReferenceEquals(metadata?.Route, chosen));
        }

        return Task.CompletedTask;
    }
}
