using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Dataplane.Ingress.Control;

/// <summary>
/// The controller's own HTTP side, apart from the traffic it proxies: Kestrel on a Unix socket (mode 0600) serving
/// <c>/status</c> (JSON, <see cref="IngressStatus"/>), <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>
/// (OpenTelemetry's Prometheus exporter, as the daemon serves it); and, with <c>--metrics-address</c>, the last three
/// over TCP for Prometheus and kubelet probes. /status stays on the socket: it names every backend endpoint.
/// </summary>
public sealed class ControlServer : IAsyncDisposable
{
    // sun_path holds 108 bytes with the terminating NUL.
    private const int MaxSocketPath = 107;

    private readonly WebApplication _app;

    private ControlServer(WebApplication app, string socketPath, IPEndPoint? metrics)
    {
        _app = app;
        SocketPath = socketPath;
        MetricsEndpoint = metrics;
    }

    public string SocketPath { get; }

    /// <summary>Where /metrics is served over TCP (the port the kernel chose when asked for 0); null without one.</summary>
    public IPEndPoint? MetricsEndpoint { get; }

    /// <param name="ready">Null when ready; else why not (one reason a line).</param>
    public static async Task<ControlServer> StartAsync(string socketPath, IPEndPoint? metricsAddress, string meterName, Func<IngressStatus> status,
        Func<string?> ready, ILoggerFactory loggers, CancellationToken cancel)
    {
        if (Encoding.UTF8.GetByteCount(socketPath) > MaxSocketPath)
        {
            throw new IOException($"control socket {socketPath}: longer than the {MaxSocketPath} bytes a Unix socket path may have");
        }

        PrepareSocketPath(socketPath);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddSingleton(loggers);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ListenUnixSocket(socketPath);
            if (metricsAddress is not null)
            {
                kestrel.Listen(metricsAddress);
            }
        });
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(meterName)
            .AddPrometheusExporter(o =>
            {
                // Counters are read when scraped; nothing to gain from caching a scrape.
                o.ScrapeResponseCacheDurationMilliseconds = 0;
                o.ScopeInfoEnabled = false;
                o.TargetInfoEnabled = false;
            }));

        WebApplication app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", static () => Results.Text("ok\n"));
        app.MapGet("/readyz", () => ready() is { } reasons ? Results.Text(reasons + "\n", statusCode: StatusCodes.Status503ServiceUnavailable) : Results.Text("ok\n"));
        app.MapGet("/status", (HttpContext context) =>
            // A Unix socket connection has no local IP; over TCP this is only the metrics listener.
            context.Connection.LocalIpAddress is not null
                ? Results.NotFound()
                : Results.Text(JsonSerializer.Serialize(status(), IngressJson.Options), "application/json"));
        try
        {
            await app.StartAsync(cancel).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"cannot listen on {(metricsAddress is null ? socketPath : $"{socketPath} and {metricsAddress}")}: {ex.Message}", ex);
        }

        File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        IPEndPoint? bound = null;
        if (metricsAddress is not null)
        {
            var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
            string? tcp = addresses.FirstOrDefault(static a => a.StartsWith("http://", StringComparison.Ordinal) && !a.Contains("unix:", StringComparison.Ordinal));
            bound = tcp is null ? metricsAddress : new IPEndPoint(metricsAddress.Address, new Uri(tcp).Port);
        }

        return new ControlServer(app, socketPath, bound);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        File.Delete(SocketPath);
    }

    /// <summary>
    /// Makes the socket's directory, and removes a socket file a dead controller left; one a live controller answers on
    /// is an error (two controllers on one socket would each think the other's status is theirs).
    /// </summary>
    private static void PrepareSocketPath(string socketPath)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(socketPath));
        if (directory is not null)
        {
            try
            {
                Directory.CreateDirectory(directory);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"control socket {socketPath}: cannot create {directory}: {ex.Message}", ex);
            }
        }

        if (!File.Exists(socketPath))
        {
            return;
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(socketPath));
                throw new IOException($"control socket {socketPath}: another ingress controller is listening on it");
            }
            catch (SocketException)
            {
                // Nobody listens: a dead controller's socket file.
            }
        }

        File.Delete(socketPath);
    }
}
