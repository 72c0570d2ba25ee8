using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Dataplane.Ingress.Proxy;

/// <summary>
/// The middleware between routing and YARP: a request no route took gets the 404 default backend; every request is
/// counted and timed under its route (<see cref="IngressMetrics"/>); a 503 YARP answers for a backend without
/// endpoints gets a body, as ingress-nginx's has one.
/// </summary>
internal sealed class IngressRequests(IngressMetrics metrics)
{
    /// <summary>What ingress-nginx's default backend answered for years; clients and tests recognise it.</summary>
    public const string NotFoundBody = "default backend - 404";

    public const string UnavailableBody = "503 Service Temporarily Unavailable";

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        long start = Stopwatch.GetTimestamp();
        IngressEndpointMetadata? matched = context.GetEndpoint()?.Metadata.GetMetadata<IngressEndpointMetadata>();
        if (matched is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(NotFoundBody, context.RequestAborted).ConfigureAwait(false);
            metrics.Record(IngressMetrics.DefaultBackendRoute, StatusCodes.Status404NotFound, start, ForwarderError.None);
            return;
        }

        ForwarderError error = ForwarderError.None;
        try
        {
            await next(context).ConfigureAwait(false);
            error = context.Features.Get<IForwarderErrorFeature>()?.Error ?? ForwarderError.None;
            if (error == ForwarderError.NoAvailableDestinations && !context.Response.HasStarted)
            {
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync(UnavailableBody, context.RequestAborted).ConfigureAwait(false);
            }
        }
        finally
        {
            metrics.Record(matched.Route.Label, context.Response.StatusCode, start, error);
        }
    }
}
