using System.Net;
using Dataplane.Ingress.Proxy;
using Dataplane.Ingress.Routing;

namespace Dataplane.Ingress;

/// <summary>How <c>dataplane ingress</c> runs: where it listens, which Ingresses are its own, where its status is served.</summary>
public sealed record IngressOptions
{
    public const string DefaultControlSocket = "/run/dataplane/ingress.sock";

    /// <summary>The plain HTTP listener (port 0: the kernel picks one).</summary>
    public required IPEndPoint Http { get; init; }

    /// <summary>The TLS listener; none when null.</summary>
    public IPEndPoint? Https { get; init; }

    /// <summary>Our <c>ingressClassName</c>; IngressClasses naming <see cref="IngressClassSelector.ControllerName"/> are ours too.</summary>
    public string IngressClass { get; init; } = IngressClassSelector.DefaultClassName;

    /// <summary>The control endpoint's Unix socket: /status, /healthz, /readyz, /metrics.</summary>
    public string ControlSocket { get; init; } = DefaultControlSocket;

    /// <summary>Also serve /metrics, /healthz and /readyz over TCP here (not /status).</summary>
    public IPEndPoint? MetricsAddress { get; init; }

    public LoadBalancing LoadBalancing { get; init; } = LoadBalancing.RoundRobin;

    /// <summary>
    /// How long after a watch event the snapshot is rebuilt: every event meanwhile joins the same rebuild, so a rolling
    /// update's burst of EndpointSlice changes is one swap, not hundreds.
    /// </summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The System.Diagnostics.Metrics meter; tests running several controllers in one process give each its own.</summary>
    public string MeterName { get; init; } = IngressMetrics.MeterName;
}
