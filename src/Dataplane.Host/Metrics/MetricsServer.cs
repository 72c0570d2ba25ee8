using System.Net;
using System.Net.Sockets;
using Dataplane.Daemon;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Dataplane.Metrics;

/// <summary>
/// The daemon's HTTP side, served by Kestrel: <c>/metrics</c> (OpenTelemetry's Prometheus exporter over
/// <see cref="DataplaneMetrics"/>), <c>/healthz</c> and <c>/readyz</c> (<see cref="DaemonHealth"/>). It always listens
/// on a Unix socket next to the control socket (mode 0600), which `ctl metrics` reaches through the control
/// socket; on TCP only when <c>dataplane.metricsAddress</c> or <c>--metrics-address</c> asks.
/// </summary>
public sealed class MetricsServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MetricsServer(WebApplication app, string? unixSocket, IPEndPoint? tcp)
    {
        _app = app;
        UnixSocketPath = unixSocket;
        TcpEndpoint = tcp;
    }

    /// <summary>Null when the path would be too long for a Unix socket (then `ctl metrics` says so).</summary>
    public string? UnixSocketPath { get; }

    public IPEndPoint? TcpEndpoint { get; }

    /// <summary>
    /// The Unix socket the HTTP side listens on: the control socket's name with <c>.http</c> for <c>.sock</c>
    /// (same length, so it fits wherever the control socket does), or null if it would not fit sun_path.
    /// </summary>
    public static string? UnixSocketFor(string controlSocket)
    {
        string path = controlSocket.EndsWith(".sock", StringComparison.Ordinal) ? controlSocket[..^".sock".Length] + ".http" : controlSocket + ".http";
        return System.Text.Encoding.UTF8.GetByteCount(path) <= 107 ? path : null;
    }

    /// <summary>Starts listening; null when there is nowhere to listen (no TCP address and no room for the Unix socket).</summary>
    public static MetricsServer? Start(NodeDaemon daemon, DataplaneMetrics metrics, string? tcpAddress, ILoggerFactory loggers)
    {
        string? unixSocket = UnixSocketFor(daemon.ControlSocketPath);
        IPEndPoint? tcp = tcpAddress is null ? null : IPEndPoint.Parse(tcpAddress);
        if (unixSocket is null && tcp is null)
        {
            // Kestrel with no endpoint would fall back to localhost:5000.
            return null;
        }

        if (unixSocket is not null)
        {
            // We hold the node's instance lock, so a socket file here is a dead daemon's.
            File.Delete(unixSocket);
        }

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddSingleton(loggers);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (unixSocket is not null)
            {
                kestrel.ListenUnixSocket(unixSocket);
            }

            if (tcp is not null)
            {
                kestrel.Listen(tcp);
            }

            kestrel.AddServerHeader = false;
        });
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(metrics.MeterNameInUse)
            .AddPrometheusExporter(o =>
            {
                // Every scrape reads the counters afresh; the workers' counters cost nothing to read.
                o.ScrapeResponseCacheDurationMilliseconds = 0;
                o.ScopeInfoEnabled = false;
                o.TargetInfoEnabled = false;
            }));
        var health = new DaemonHealth(daemon);
        builder.Services.AddHealthChecks()
            .AddCheck("workers", () => health.Live(), tags: ["live"])
            .AddCheck("ready", () => health.Ready(), tags: ["ready"]);

        WebApplication app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHealthChecks("/healthz", Options("live"));
        app.MapHealthChecks("/readyz", Options("ready"));
        try
        {
            app.StartAsync().GetAwaiter().GetResult();
        }
        catch (IOException ex)
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw new IOException($"metrics: cannot listen on {tcpAddress ?? unixSocket}: {ex.Message}", ex);
        }

        if (unixSocket is not null)
        {
            File.SetUnixFileMode(unixSocket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return new MetricsServer(app, unixSocket, tcp);
    }

    /// <summary>200 with "ok", or 503 with each reason on its own line.</summary>
    private static HealthCheckOptions Options(string tag) => new()
    {
        Predicate = check => check.Tags.Contains(tag),
        ResponseWriter = static (context, report) =>
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            string body = report.Status == HealthStatus.Healthy
                ? "ok\n"
                : string.Concat(report.Entries.Values.Where(static e => e.Status != HealthStatus.Healthy).Select(static e => e.Description + "\n"));
            return context.Response.WriteAsync(body);
        },
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        if (UnixSocketPath is not null)
        {
            File.Delete(UnixSocketPath);
        }
    }
}
