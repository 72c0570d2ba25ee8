using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using Dataplane.Io.Netns;
using Dataplane.Model;
using Dataplane.Tables;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// <c>healthCheckNodePort</c>s, as kube-proxy serves them: for each LoadBalancer service with
/// <c>externalTrafficPolicy: Local</c>, an HTTP server on the node's addresses at that port answering any path with
/// 200 while this node has a ready local endpoint and 503 when it has none, and the count as JSON
/// (<c>{"service":{"namespace":..,"name":..},"localEndpoints":N,"serviceProxyHealthy":true}</c>), so an external
/// balancer sends traffic only to nodes that can serve it without a second hop.
/// <para>
/// Control plane only: each port is a small Kestrel server on a socket bound inside the node's namespace (the
/// node's kernel owns its addresses; with a host port, checks from outside reach it through the dataplane). Servers
/// start and stop as services come and go; counts change in place, without touching the listeners.
/// </para>
/// </summary>
public sealed class HealthCheckNodePorts : IDisposable
{
    private readonly string? _namespace;
    private readonly ServiceNode _node;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<ushort, Listener> _listeners = [];

    /// <param name="nodeNamespace">The node's namespace (name or path, as `run --netns`); null: this process's.</param>
    public HealthCheckNodePorts(string? nodeNamespace, ServiceNode node, ILoggerFactory loggers)
    {
        _namespace = nodeNamespace;
        _node = node;
        _logger = loggers.CreateLogger("healthcheck");
    }

    /// <summary>Ports served now, with the service and its local endpoint count (for tests and `ctl`).</summary>
    public IReadOnlyDictionary<ushort, (string Service, int LocalEndpoints)> Ports
    {
        get
        {
            lock (_lock)
            {
                return _listeners.ToDictionary(static l => l.Key, static l => (l.Value.Service, l.Value.LocalEndpoints));
            }
        }
    }

    /// <summary>Makes the servers match <paramref name="services"/>: new ports listen, gone ones close, counts update.</summary>
    public void Sync(IReadOnlyList<ServiceConfig> services)
    {
        var wanted = new Dictionary<ushort, (string Service, int Local)>();
        foreach (ServiceConfig service in services)
        {
            if (service.Exposure.HealthCheckNodePort is { } port)
            {
                int local = 0;
                foreach (EndpointConfig endpoint in service.Endpoints)
                {
                    local += !endpoint.Terminating && _node.IsLocal(endpoint) ? 1 : 0;
                }

                wanted[port] = (service.Name, local);
            }
        }

        lock (_lock)
        {
            foreach (ushort port in _listeners.Keys.Where(p => !wanted.ContainsKey(p)).ToList())
            {
                _listeners.Remove(port, out Listener? gone);
                gone!.Dispose();
                _logger.LogInformation("health check node port {Port} closed", port);
            }

            foreach ((ushort port, (string service, int local)) in wanted)
            {
                if (_listeners.TryGetValue(port, out Listener? listener) && listener.Service == service)
                {
                    listener.LocalEndpoints = local;
                    continue;
                }

                listener?.Dispose();
                _listeners.Remove(port);
                try
                {
                    _listeners[port] = Listener.Start(_namespace, port, service, local);
                    _logger.LogInformation("health check node port {Port} for service {Service}: {Local} local endpoints", port, service, local);
                }
                catch (Exception ex) when (ex is SocketException or IOException)
                {
                    // The service keeps forwarding; only its health check is missing, and the log says why.
                    _logger.LogWarning("health check node port {Port} for service {Service}: cannot listen: {Reason}", port, service, ex.Message);
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (Listener listener in _listeners.Values)
            {
                listener.Dispose();
            }

            _listeners.Clear();
        }
    }

    /// <summary>One port's server; <see cref="LocalEndpoints"/> is read per request.</summary>
    private sealed class Listener : IDisposable
    {
        /// <summary>fcntl(2): duplicate to the lowest free descriptor, close-on-exec.</summary>
        private const int FDupFdCloexec = 1030;

        private readonly WebApplication _app;
        private int _localEndpoints;

        private Listener(WebApplication app, string service, int localEndpoints)
        {
            _app = app;
            Service = service;
            _localEndpoints = localEndpoints;
        }

        public string Service { get; }

        public int LocalEndpoints
        {
            get => Volatile.Read(ref _localEndpoints);
            set => Volatile.Write(ref _localEndpoints, value);
        }

        public static Listener Start(string? nodeNamespace, ushort port, string service, int localEndpoints)
        {
            using NetworkNamespace? ns = nodeNamespace is null ? null : NetworkNamespace.Open(nodeNamespace);
            // Bound inside the node's namespace (Kestrel would bind in whichever namespace its thread is in), then
            // handed to Kestrel as a listening handle. Dual-stack, so IPv4 and IPv6 node addresses are both served.
            Socket socket = ns is null ? Bind(port) : ns.Run(() => Bind(port));

            // Kestrel takes ownership of the descriptor it is given (it closes it on shutdown): it gets a duplicate,
            // and ours closes with our socket.
            int descriptor;
            using (socket)
            {
                descriptor = Interop.Libc.fcntl(socket.SafeHandle, FDupFdCloexec, 0);
                if (descriptor < 0)
                {
                    throw new IOException($"duplicating the listening socket: {Io.Errno.Describe(Marshal.GetLastPInvokeError())}");
                }
            }

            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.ListenHandle((ulong)descriptor);
                kestrel.AddServerHeader = false;
            });
            WebApplication app = builder.Build();
            Listener? listener = null;
            (string? space, string name) = SplitName(service);
            app.Run(context => listener!.Answer(context, space, name));
            listener = new Listener(app, service, localEndpoints);
            try
            {
                app.StartAsync().GetAwaiter().GetResult();
            }
            catch
            {
                app.DisposeAsync().AsTask().GetAwaiter().GetResult();
                throw;
            }

            return listener;
        }

        private static Socket Bind(ushort port)
        {
            var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
                socket.Listen(128);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        private Task Answer(HttpContext context, string? space, string name)
        {
            int local = LocalEndpoints;
            context.Response.StatusCode = local > 0 ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "application/json";
            context.Response.Headers["X-Content-Type-Options"] = "nosniff";
            string body = JsonSerializer.Serialize(new HealthCheckAnswer(new HealthCheckService(space ?? "default", name), local, true), HealthCheckJson.Default.HealthCheckAnswer);
            return context.Response.WriteAsync(body);
        }

        /// <summary>`namespace/name` as the API keys services; a node.yaml name alone is in Kubernetes' default namespace.</summary>
        private static (string? Namespace, string Name) SplitName(string service)
        {
            int slash = service.IndexOf('/', StringComparison.Ordinal);
            return slash < 0 ? (null, service) : (service[..slash], service[(slash + 1)..]);
        }

        public void Dispose() => _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}

/// <summary>kube-proxy's health check answer (pkg/proxy/healthcheck/service_health.go).</summary>
public sealed record HealthCheckAnswer(
    [property: System.Text.Json.Serialization.JsonPropertyName("service")] HealthCheckService Service,
    [property: System.Text.Json.Serialization.JsonPropertyName("localEndpoints")] int LocalEndpoints,
    [property: System.Text.Json.Serialization.JsonPropertyName("serviceProxyHealthy")] bool ServiceProxyHealthy);

public sealed record HealthCheckService(
    [property: System.Text.Json.Serialization.JsonPropertyName("namespace")] string Namespace,
    [property: System.Text.Json.Serialization.JsonPropertyName("name")] string Name);

[System.Text.Json.Serialization.JsonSerializable(typeof(HealthCheckAnswer))]
internal sealed partial class HealthCheckJson : System.Text.Json.Serialization.JsonSerializerContext;
