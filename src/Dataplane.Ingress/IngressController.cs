using System.Diagnostics;
using System.Threading.Channels;
using Dataplane.Ingress.Control;
using Dataplane.Ingress.Proxy;
using Dataplane.Ingress.Routing;
using Dataplane.Ingress.Sources;
using Dataplane.Ingress.Tls;
using Microsoft.Extensions.Logging;

namespace Dataplane.Ingress;

/// <summary>
/// <c>dataplane ingress</c>: one source of objects (a file or the API server) into one store; on every change,
/// debounced, one translation into a <see cref="RoutingSnapshot"/>; a snapshot that serves something new is swapped
/// into YARP, the TLS certificate selection and the status at once. The proxy (<see cref="ProxyServer"/>) and the
/// control endpoint (<see cref="ControlServer"/>) run on Kestrel until disposed.
/// <para>
/// Bad input never stops the rest: every problem is a warning naming its Ingress, logged once while it lasts, shown in
/// the status, and the rest is served. Until every kind has been listed once, nothing is translated: the proxy answers
/// 404 and /readyz says why.
/// </para>
/// </summary>
public sealed class IngressController : IAsyncDisposable
{
    private readonly IngressOptions _options;
    private readonly IngressSource _source;
    private readonly IngressObjectStore _store = new();
    private readonly IngressTranslator _translator;
    private readonly IngressProxyConfigProvider _proxyConfig;
    private readonly IngressMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Lock _rebuildLock = new();
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private HashSet<string> _loggedWarnings = new(StringComparer.Ordinal);
    private RoutingSnapshot _current = RoutingSnapshot.Empty;
    private DateTimeOffset? _appliedAt;
    private long _applied;
    private Task _debouncing = Task.CompletedTask;
    private ProxyServer? _proxy;
    private ControlServer? _control;

    private IngressController(IngressOptions options, IngressSource source, ILoggerFactory loggers)
    {
        _options = options;
        _source = source;
        _translator = new IngressTranslator(options.IngressClass);
        _proxyConfig = new IngressProxyConfigProvider(options.LoadBalancing);
        _metrics = new IngressMetrics(() => Current, () => Interlocked.Read(ref _applied), options.MeterName);
        _logger = loggers.CreateLogger("dataplane.ingress");
        Fallback = FallbackCertificate.Create();
    }

    /// <summary>The snapshot being served.</summary>
    public RoutingSnapshot Current => Volatile.Read(ref _current);

    /// <summary>What TLS clients get when no Ingress has a certificate for their SNI name.</summary>
    public ServedCertificate Fallback { get; }

    public ProxyServer Proxy => _proxy ?? throw new InvalidOperationException("not started");

    public ControlServer Control => _control ?? throw new InvalidOperationException("not started");

    /// <summary>
    /// Starts serving: the source fills the store (a file at once: its snapshot is served from the first request),
    /// the control endpoint and the listeners start. The controller owns <paramref name="source"/> from here on.
    /// Throws <see cref="IOException"/> (one line) when an address or the control socket cannot be had.
    /// </summary>
    public static async Task<IngressController> StartAsync(IngressOptions options, IngressSource source, ILoggerFactory loggers, CancellationToken cancel = default)
    {
        var controller = new IngressController(options, source, loggers);
        try
        {
            controller._store.Changed += () => controller._changes.Writer.TryWrite(true);
            source.Start(controller._store, loggers);
            controller.Rebuild();
            controller._debouncing = Task.Run(() => controller.DebounceAsync(controller._stop.Token));
            controller._control = await ControlServer.StartAsync(options.ControlSocket, options.MetricsAddress, controller._metrics.Name,
                controller.Status, controller.NotReadyReason, loggers, cancel).ConfigureAwait(false);
            controller._proxy = await ProxyServer.StartAsync(options, controller._proxyConfig, () => controller.Current, controller.Fallback,
                controller._metrics, loggers, cancel).ConfigureAwait(false);
            return controller;
        }
        catch
        {
            await controller.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>SIGHUP: re-reads an objects file and serves it, before returning; a file with errors keeps what was served.</summary>
    public bool Reload()
    {
        if (!_source.Reload(_store, _logger))
        {
            return false;
        }

        Rebuild();
        return true;
    }

    /// <summary>Null when serving what the source holds; else why not.</summary>
    public string? NotReadyReason()
    {
        IngressSourceStatus source = _source.Status(_store);
        if (!source.Synced)
        {
            IEnumerable<string> waiting = source.Informers.Where(static i => !i.HasSynced)
                .Select(static i => $"{i.Resource}: not listed yet{(i.LastError is { } e ? $" ({e})" : "")}");
            return $"waiting for {source.Location}:\n{string.Join("\n", waiting)}";
        }

        return Interlocked.Read(ref _applied) == 0 ? "no configuration applied yet" : null;
    }

    public IngressStatus Status()
    {
        // The snapshot and when it was applied, from the same moment.
        RoutingSnapshot snapshot;
        DateTimeOffset? appliedAt;
        lock (_rebuildLock)
        {
            snapshot = Current;
            appliedAt = _appliedAt;
        }

        var routes = new List<RouteStatus>();
        foreach (HostRoutes host in snapshot.Hosts)
        {
            foreach (IngressRoute route in host.Fallback is null ? host.Paths : [.. host.Paths, host.Fallback])
            {
                routes.Add(new RouteStatus(route.Label, route.Ingress, host.Host.Length == 0 ? "*" : host.Host, route.Path?.Path ?? "",
                    route.Path?.Type.ToString() ?? "Default", route.Backend.ToString(), route.Backend.Destinations, route.Backend.Problem));
            }
        }

        var tls = snapshot.Certificates.ByHost.OrderBy(static c => c.Key, StringComparer.Ordinal)
            .Select(static c => new TlsHostStatus(c.Key, c.Value.Source, c.Value.Subject, c.Value.NotAfter, c.Value.DnsNames)).ToList();
        var listeners = new IngressListeners(_proxy?.HttpEndpoint.ToString() ?? _options.Http.ToString(), (_proxy?.HttpsEndpoint ?? _options.Https)?.ToString(),
            _options.ControlSocket, _control?.MetricsEndpoint?.ToString());
        return new IngressStatus(snapshot.Generation, appliedAt, _options.IngressClass, snapshot.Ingresses, snapshot.IgnoredIngresses, listeners,
            _source.Status(_store), routes, tls, [.. snapshot.Warnings.Select(static w => w.ToString())]);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _debouncing.ConfigureAwait(false);
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync().ConfigureAwait(false);
        }

        if (_control is not null)
        {
            await _control.DisposeAsync().ConfigureAwait(false);
        }

        _source.Dispose();
        _metrics.Dispose();
        _stop.Dispose();
    }

    /// <summary>
    /// Waits for a change, then for <see cref="IngressOptions.Debounce"/> more, then rebuilds once: a burst of
    /// events is one snapshot, and at most one rebuild runs per debounce interval.
    /// </summary>
    private async Task DebounceAsync(CancellationToken stop)
    {
        try
        {
            while (await _changes.Reader.WaitToReadAsync(stop).ConfigureAwait(false))
            {
                await Task.Delay(_options.Debounce, stop).ConfigureAwait(false);
                _changes.Reader.TryRead(out _);
                try
                {
                    Rebuild();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A bug in translation must not end the loop: the last snapshot keeps serving.
                    _logger.LogError(ex, "rebuilding the routing snapshot failed; still serving generation {Generation}", Current.Generation);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Translates what the store holds and swaps it in when it serves something new.</summary>
    private void Rebuild()
    {
        lock (_rebuildLock)
        {
            if (!_store.AllListed)
            {
                return;
            }

            long start = Stopwatch.GetTimestamp();
            RoutingSnapshot previous = Current;
            RoutingSnapshot next = _translator.Translate(_store.Snapshot(), previous.Generation + 1);
            if (_applied > 0 && next.Serves(previous))
            {
                _logger.LogDebug("objects changed, routes did not: still generation {Generation}", previous.Generation);
                return;
            }

            // Logged before the swap, so whoever sees the new behaviour can find its warning.
            LogWarnings(next);
            _proxyConfig.Publish(next);
            Volatile.Write(ref _current, next);
            _appliedAt = DateTimeOffset.UtcNow;
            Interlocked.Increment(ref _applied);
            _logger.LogInformation(
                "generation {Generation}: {Routes} routes over {Hosts} hosts to {Backends} backends ({Endpoints} endpoints), {Tls} TLS hosts, {Ingresses} ingresses ({Ignored} of other classes), {Warnings} warnings, built in {Ms:0.0} ms",
                next.Generation, next.Routes.Count, next.Hosts.Count, next.Backends.Count, next.Backends.Sum(static b => b.Destinations.Count),
                next.Certificates.ByHost.Count, next.Ingresses, next.IgnoredIngresses, next.Warnings.Count, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    /// <summary>Each problem once while it lasts: one that goes away and comes back is logged again.</summary>
    private void LogWarnings(RoutingSnapshot snapshot)
    {
        var now = new HashSet<string>(StringComparer.Ordinal);
        foreach (Kubernetes.ObjectWarning warning in snapshot.Warnings)
        {
            string text = warning.ToString();
            if (now.Add(text) && !_loggedWarnings.Contains(text))
            {
                _logger.LogWarning("{Warning}", text);
            }
        }

        _loggedWarnings = now;
    }
}
