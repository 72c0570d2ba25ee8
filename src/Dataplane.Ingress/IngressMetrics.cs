using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dataplane.Ingress.Routing;
using Yarp.ReverseProxy.Forwarder;

namespace Dataplane.Ingress;

/// <summary>
/// The controller's instruments, named as the daemon's are (OpenTelemetry names, Prometheus output):
/// <c>dataplane_ingress_requests_total{route,code_class}</c>, <c>dataplane_ingress_request_duration_seconds{route}</c>
/// (a histogram), <c>dataplane_ingress_upstream_errors_total{route,error}</c>, and gauges of the configuration. The
/// route label is <see cref="IngressRoute.Label"/> (<c>namespace/ingress host path</c>); requests no route takes are
/// <c>route="default backend"</c>.
/// </summary>
public sealed class IngressMetrics : IDisposable
{
    public const string MeterName = "Dataplane.Ingress";

    /// <summary>The route label of requests the built-in 404 default backend answers.</summary>
    public const string DefaultBackendRoute = "default backend";

    // From 1 ms (a proxied request to a pod on the node) to 10 s (a slow backend; the proxy's timeout is longer).
    private static readonly double[] s_buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly string[] s_codeClasses = ["1xx", "1xx", "2xx", "3xx", "4xx", "5xx"];

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _upstreamErrors;

    public IngressMetrics(Func<RoutingSnapshot> current, Func<long> applied, string meterName = MeterName)
    {
        _meter = new Meter(meterName);
        _requests = _meter.CreateCounter<long>("dataplane.ingress.requests", null, "Requests answered, by route and status class (2xx, 3xx, 4xx, 5xx).");
        _duration = _meter.CreateHistogram("dataplane.ingress.request.duration", "s",
            "Time from the request's routing to the end of its response, by route.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_buckets });
        _upstreamErrors = _meter.CreateCounter<long>("dataplane.ingress.upstream.errors", null,
            "Requests the proxy could not complete with the backend, by route and YARP's error (no-available-destinations: no ready endpoint, request: connect or send failed, ...).");
        _meter.CreateObservableGauge("dataplane.ingress.routes", () => (long)current().Routes.Count, null, "Routes served: Ingress paths and default backends.");
        _meter.CreateObservableGauge("dataplane.ingress.backend.endpoints", () => BackendEndpoints(current()), null, "Ready endpoints of each backend (service:port); 0 answers 503.");
        _meter.CreateObservableGauge("dataplane.ingress.config.warnings", () => (long)current().Warnings.Count, null, "Problems with the Ingresses in the configuration served (each is logged once).");
        _meter.CreateObservableCounter("dataplane.ingress.config.applied", applied, null, "Configurations (snapshots) applied, the first one included.");
    }

    public string Name => _meter.Name;

    /// <summary>One request's outcome: called once per request, after its response.</summary>
    public void Record(string route, int status, long startTimestamp, ForwarderError error)
    {
        var tags = new TagList { { "route", route }, { "code_class", s_codeClasses[Math.Clamp(status / 100, 0, 5)] } };
        _requests.Add(1, tags);
        _duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("route", route));
        if (error != ForwarderError.None)
        {
            _upstreamErrors.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("error", ErrorName(error)));
        }
    }

    public void Dispose() => _meter.Dispose();

    private static IEnumerable<Measurement<long>> BackendEndpoints(RoutingSnapshot snapshot)
        => snapshot.Backends.Select(static b => new Measurement<long>(b.Destinations.Count, new KeyValuePair<string, object?>("backend", b.ClusterId)));

    /// <summary>YARP's error as a label: NoAvailableDestinations becomes no-available-destinations.</summary>
    private static string ErrorName(ForwarderError error)
    {
        string name = error.ToString();
        var label = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                label.Append('-');
            }

            label.Append(char.ToLowerInvariant(name[i]));
        }

        return label.ToString();
    }
}
