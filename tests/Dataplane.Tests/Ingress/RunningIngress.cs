using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Dataplane.Ingress;
using Dataplane.Ingress.Control;
using Dataplane.Ingress.Sources;
using Dataplane.Tests.Kubernetes;

namespace Dataplane.Tests.Ingress;

/// <summary>
/// The real controller (Kestrel and YARP) on 127.0.0.1 ephemeral ports, with its control socket in a temporary
/// directory, from an objects file the test writes (<see cref="StartFromFileAsync"/>) or a fake API server
/// (<see cref="StartFromApiAsync"/>); and clients that send any Host and SNI to it.
/// </summary>
internal sealed class RunningIngress : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly HttpClient _client;
    private readonly List<X509Certificate2> _certificates = [];

    private RunningIngress(IngressController controller, string directory, string? objectsPath)
    {
        Controller = controller;
        Directory = directory;
        ObjectsPath = objectsPath;
        _client = CreateClient();
    }

    public IngressController Controller { get; }

    public string Directory { get; }

    /// <summary>The objects file, for a test that rewrites it before <see cref="IngressController.Reload"/>.</summary>
    public string? ObjectsPath { get; }

    public int HttpPort => Controller.Proxy.HttpEndpoint.Port;

    public int HttpsPort => Controller.Proxy.HttpsEndpoint!.Port;

    public string ControlSocket => Controller.Control.SocketPath;

    public static async Task<RunningIngress> StartFromFileAsync(IEnumerable<object> objects)
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("dataplane-ingress-").FullName;
        string path = Path.Combine(directory, "objects.json");
        await File.WriteAllTextAsync(path, IngressModels.ToListJson(objects));
        FileIngressSource source = FileIngressSource.Open(path, out IReadOnlyList<Dataplane.Kubernetes.ObjectsFileProblem> errors, out _)
            ?? throw new InvalidOperationException(string.Join("\n", errors));
        return new RunningIngress(await IngressController.StartAsync(Options(directory), source, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance), directory, path);
    }

    public static async Task<RunningIngress> StartFromApiAsync(FakeApiServer server, RecordingLogger? logger = null)
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("dataplane-ingress-").FullName;
        var informers = new Dataplane.Kubernetes.InformerOptions { InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200) };
        var source = new ApiIngressSource(server.CreateClient(), informers);
        return new RunningIngress(await IngressController.StartAsync(Options(directory), source, (Microsoft.Extensions.Logging.ILoggerFactory?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance), directory, null);
    }

    /// <summary>Rewrites the objects file (then call <see cref="IngressController.Reload"/>, as SIGHUP does).</summary>
    public Task WriteObjectsAsync(IEnumerable<object> objects) => File.WriteAllTextAsync(ObjectsPath!, IngressModels.ToListJson(objects));

    /// <summary>A GET over HTTP/1.1 with that Host; the status and what the backend saw (null when the controller itself answered).</summary>
    public Task<(HttpStatusCode Status, BackendEcho? Echo, string Body)> GetAsync(string host, string pathAndQuery, CancellationToken cancel = default)
        => SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://{host}:{HttpPort}{pathAndQuery}"), cancel);

    /// <summary>A GET over TLS with SNI <paramref name="host"/>, asking for <paramref name="version"/> exactly; also the certificate the server presented.</summary>
    public async Task<(HttpStatusCode Status, BackendEcho? Echo, Version Version, X509Certificate2 Certificate)> GetTlsAsync(string host, string path, Version version)
    {
        X509Certificate2? presented = null;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = ConnectToLoopbackAsync,
            SslOptions = new SslClientAuthenticationOptions
            {
                // The test's certificates are self-signed: the test checks which one came, not whether it is trusted.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    presented = new X509Certificate2(certificate!);
                    return true;
                },
            },
        };
        using var client = new HttpClient(handler) { Timeout = Deadline };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://{host}:{HttpsPort}{path}") { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using HttpResponseMessage response = await client.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        _certificates.Add(presented!);
        return (response.StatusCode, Echo(response, body), response.Version, presented!);
    }

    /// <summary>A WebSocket to <paramref name="host"/> through the proxy.</summary>
    public async Task<ClientWebSocket> ConnectWebSocketAsync(string host, string path)
    {
        var socket = new ClientWebSocket();
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler { ConnectCallback = ConnectToLoopbackAsync });
        using var timeout = new CancellationTokenSource(Deadline);
        await socket.ConnectAsync(new Uri($"ws://{host}:{HttpPort}{path}"), invoker, timeout.Token);
        return socket;
    }

    /// <summary>GETs a path of the metrics listener (--metrics-address) over TCP.</summary>
    public async Task<(HttpStatusCode Status, string Body)> MetricsOverTcpAsync(string path)
    {
        using HttpResponseMessage response = await _client.GetAsync(new Uri($"http://{Controller.Control.MetricsEndpoint}{path}"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>GETs a path of the control endpoint over its Unix socket.</summary>
    public Task<(int Status, string Body)> ControlAsync(string path) => Dataplane.Protocol.UnixSocketHttp.GetAsync(ControlSocket, path, CancellationToken.None);

    public async Task<JsonDocument> StatusAsync()
    {
        (int status, string body) = await ControlAsync("/status");
        Assert.Equal(200, status);
        return JsonDocument.Parse(body);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _client.Dispose();
            await Controller.DisposeAsync();
            foreach (X509Certificate2 certificate in _certificates)
            {
                certificate.Dispose();
            }
        }
        finally
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    private async Task<(HttpStatusCode, BackendEcho?, string)> SendAsync(HttpRequestMessage request, CancellationToken cancel)
    {
        using (request)
        {
            using HttpResponseMessage response = await _client.SendAsync(request, cancel);
            string body = await response.Content.ReadAsStringAsync(cancel);
            return (response.StatusCode, Echo(response, body), body);
        }
    }

    private static BackendEcho? Echo(HttpResponseMessage response, string body)
        => response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonSerializer.Deserialize<BackendEcho>(body, BackendEcho.Json) : null;

    private static IngressOptions Options(string directory) => new()
    {
        Http = new IPEndPoint(IPAddress.Loopback, 0),
        Https = new IPEndPoint(IPAddress.Loopback, 0),
        ControlSocket = Path.Combine(directory, "ingress.sock"),
        MetricsAddress = new IPEndPoint(IPAddress.Loopback, 0),
        // Each controller of the test run counts into its own meter, so one test's requests never show in another's /metrics.
        MeterName = $"Dataplane.Ingress.Test.{Guid.NewGuid():N}",
        Debounce = TimeSpan.FromMilliseconds(20),
    };

    /// <summary>Clients ask for real host names (Host header and SNI); every connection goes to the controller on 127.0.0.1.</summary>
    private static HttpClient CreateClient() => new(new SocketsHttpHandler { ConnectCallback = ConnectToLoopbackAsync, AllowAutoRedirect = false }) { Timeout = Deadline };

    private static async ValueTask<Stream> ConnectToLoopbackAsync(SocketsHttpConnectionContext context, CancellationToken cancel)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), cancel);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
