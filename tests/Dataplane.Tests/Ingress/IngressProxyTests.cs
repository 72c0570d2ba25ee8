using System.CommandLine;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Dataplane.Cli.Commands;
using Dataplane.Ingress.Proxy;
using Dataplane.Ingress.Tls;

namespace Dataplane.Tests.Ingress;

/// <summary>
/// The controller end to end on loopback: real requests through Kestrel and YARP to real backends, routed by the
/// objects of <see cref="IngressProxyFixture"/>; HTTP/1.1, HTTP/2 over TLS with SNI, WebSockets, the default
/// backends, forwarded headers, metrics, and `dataplane ingress status` through the CLI.
/// </summary>
[Trait("Category", "unit")]
public class IngressProxyTests(IngressProxyFixture fixture) : IClassFixture<IngressProxyFixture>
{
    private RunningIngress Ingress => fixture.Ingress;

    [Theory]
    [InlineData("a.example.com", "/", "alpha")]
    [InlineData("a.example.com", "/some/page", "alpha")]
    [InlineData("a.example.com", "/beta", "beta")]
    [InlineData("a.example.com", "/beta/x", "beta")]
    [InlineData("a.example.com", "/betamax", "alpha")]
    [InlineData("A.Example.COM", "/beta", "beta")]
    [InlineData("x.wild.example.com", "/", "beta")]
    [InlineData("ws.example.com", "/", "gamma")]
    public async Task Requests_are_routed_by_host_and_path(string host, string path, string backend)
    {
        (HttpStatusCode status, BackendEcho? echo, _) = await Ingress.GetAsync(host, path);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((backend, path), (echo?.Name, echo?.Path));
    }

    [Theory]
    [InlineData("unknown.example.com", "/")]
    [InlineData("y.x.wild.example.com", "/")]
    [InlineData("wild.example.com", "/")]
    public async Task Hosts_no_rule_claims_get_the_404_default_backend(string host, string path)
    {
        (HttpStatusCode status, BackendEcho? echo, string body) = await Ingress.GetAsync(host, path);

        Assert.Equal((HttpStatusCode.NotFound, null, IngressRequests.NotFoundBody), (status, echo, body));
    }

    [Fact]
    public async Task A_backend_without_endpoints_answers_503()
    {
        (HttpStatusCode status, BackendEcho? echo, string body) = await Ingress.GetAsync("a.example.com", "/empty");
        (HttpStatusCode below, BackendEcho? belowEcho, _) = await Ingress.GetAsync("a.example.com", "/empty/x");

        Assert.Equal((HttpStatusCode.ServiceUnavailable, null, IngressRequests.UnavailableBody), (status, echo, body));
        // Exact: /empty/x is not /empty, and falls to the Prefix "/" rule.
        Assert.Equal((HttpStatusCode.OK, "alpha"), (below, belowEcho?.Name));
    }

    [Fact]
    public async Task The_backend_sees_the_clients_host_and_the_x_forwarded_headers()
    {
        (_, BackendEcho? plain, _) = await Ingress.GetAsync("a.example.com", "/headers");
        (_, BackendEcho? tls, _, _) = await Ingress.GetTlsAsync("a.example.com", "/headers", HttpVersion.Version11);

        Assert.Equal(new BackendEcho("alpha", $"a.example.com:{Ingress.HttpPort}", "/headers", "HTTP/1.1", "127.0.0.1", "http", $"a.example.com:{Ingress.HttpPort}"), plain);
        Assert.Equal(new BackendEcho("alpha", $"a.example.com:{Ingress.HttpsPort}", "/headers", "HTTP/1.1", "127.0.0.1", "https", $"a.example.com:{Ingress.HttpsPort}"), tls);
    }

    [Fact]
    public async Task Http2_over_tls_gets_the_certificate_its_sni_names_and_the_fallback_otherwise()
    {
        var exact = await Ingress.GetTlsAsync("a.example.com", "/beta", HttpVersion.Version20);
        var wildcard = await Ingress.GetTlsAsync("x.wild.example.com", "/", HttpVersion.Version20);
        var none = await Ingress.GetTlsAsync("unknown.example.com", "/", HttpVersion.Version20);

        Assert.Equal((HttpStatusCode.OK, "beta", HttpVersion.Version20, fixture.ACertificate.Thumbprint),
            (exact.Status, exact.Echo?.Name, exact.Version, exact.Certificate.Thumbprint));
        Assert.Equal((HttpStatusCode.OK, "beta", HttpVersion.Version20, fixture.WildCertificate.Thumbprint),
            (wildcard.Status, wildcard.Echo?.Name, wildcard.Version, wildcard.Certificate.Thumbprint));
        Assert.Equal((HttpStatusCode.NotFound, FallbackCertificate.Subject), (none.Status, none.Certificate.Subject));
        // The proxy speaks HTTP/1.1 to pods, as ingress-nginx does.
        Assert.Equal("HTTP/1.1", exact.Echo?.Protocol);
    }

    [Fact]
    public async Task A_websocket_is_echoed_through_the_proxy()
    {
        using ClientWebSocket socket = await Ingress.ConnectWebSocketAsync("ws.example.com", "/ws");
        using var timeout = new CancellationTokenSource(RunningIngress.Deadline);
        var replies = new List<string>();
        foreach (string message in (string[])["hello", "again"])
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            var buffer = new byte[1024];
            WebSocketReceiveResult received = await socket.ReceiveAsync(buffer, timeout.Token);
            replies.Add(Encoding.UTF8.GetString(buffer, 0, received.Count));
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);

        Assert.Equal(["gamma:hello", "gamma:again"], replies);
    }

    [Fact]
    public async Task Metrics_count_each_routes_requests_by_status_class_with_latency_and_upstream_errors()
    {
        for (int i = 0; i < 3; i++)
        {
            await Ingress.GetAsync("x.wild.example.com", "/metrics-test");
            await Ingress.GetAsync("a.example.com", "/empty");
            await Ingress.GetAsync("nothing.example.com", "/");
        }

        (int status, string metrics) = await Ingress.ControlAsync("/metrics");

        Assert.Equal(200, status);
        Assert.True(Counter(metrics, "dataplane_ingress_requests_total{code_class=\"2xx\",route=\"shop/web *.wild.example.com /\"}") >= 3, metrics);
        Assert.True(Counter(metrics, "dataplane_ingress_requests_total{code_class=\"5xx\",route=\"shop/web a.example.com /empty\"}") >= 3, metrics);
        Assert.True(Counter(metrics, "dataplane_ingress_requests_total{code_class=\"4xx\",route=\"default backend\"}") >= 3, metrics);
        Assert.True(Counter(metrics, "dataplane_ingress_upstream_errors_total{error=\"no-available-destinations\",route=\"shop/web a.example.com /empty\"}") >= 3, metrics);
        Assert.True(Counter(metrics, "dataplane_ingress_request_duration_seconds_count{route=\"shop/web *.wild.example.com /\"}") >= 3, metrics);
        Assert.Contains("dataplane_ingress_request_duration_seconds_bucket{route=\"shop/web *.wild.example.com /\",le=\"0.005\"}", metrics, StringComparison.Ordinal);
        Assert.Equal(0, Counter(metrics, "dataplane_ingress_backend_endpoints{backend=\"shop/empty:80\"}"));
        Assert.Equal(1, Counter(metrics, "dataplane_ingress_backend_endpoints{backend=\"shop/alpha:http\"}"));
    }

    [Fact]
    public async Task Health_and_readiness_answer_ok_once_the_objects_are_served()
    {
        Assert.Equal((200, "ok\n"), await Ingress.ControlAsync("/healthz"));
        Assert.Equal((200, "ok\n"), await Ingress.ControlAsync("/readyz"));
    }

    [Fact]
    public async Task The_metrics_address_serves_metrics_and_probes_but_not_the_status()
    {
        (HttpStatusCode metrics, string body) = await Ingress.MetricsOverTcpAsync("/metrics");
        (HttpStatusCode ready, _) = await Ingress.MetricsOverTcpAsync("/readyz");
        (HttpStatusCode status, _) = await Ingress.MetricsOverTcpAsync("/status");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.NotFound), (metrics, ready, status));
        Assert.Matches(@"(?m)^dataplane_ingress_routes(\{\})? 5$", body);
    }

    [Fact]
    public async Task Ingress_status_through_the_cli_lists_routes_backends_endpoints_and_tls_hosts()
    {
        (int code, string table, string error) = await CliAsync("ingress", "status", "--control-socket", Ingress.ControlSocket);
        (int jsonCode, string json, _) = await CliAsync("ingress", "status", "--control-socket", Ingress.ControlSocket, "-o", "json");

        Assert.Equal((0, ""), (code, error));
        string[] lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("generation 1: 1 ingresses of class dataplane (1 of other classes ignored), file ", lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^HOST\s+PATH\s+TYPE\s+BACKEND\s+ENDPOINTS\s+INGRESS$", lines[1]);
        int beta = Array.FindIndex(lines, static l => l.StartsWith("a.example.com", StringComparison.Ordinal) && l.Contains("/beta", StringComparison.Ordinal));
        Assert.Matches(@"^a\.example\.com\s+/beta\s+Prefix\s+shop/beta:8080\s+1\s+shop/web$", lines[beta]);
        Assert.Equal($"    -> {fixture.Beta.Ip}:{fixture.Beta.Port}", lines[beta + 1]);
        Assert.Contains(lines, static l => l == "    503: service shop/empty has no ready endpoint");
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\*\.wild\.example\.com\s+shop/wild-tls\s+CN=\*\.wild\.example\.com\s+\d{4}-\d\d-\d\d"));

        Assert.Equal(0, jsonCode);
        using JsonDocument status = JsonDocument.Parse(json);
        JsonElement root = status.RootElement;
        Assert.Equal(5, root.GetProperty("routes").GetArrayLength());
        Assert.Equal(["*.wild.example.com", "a.example.com"], root.GetProperty("tls").EnumerateArray().Select(static t => t.GetProperty("host").GetString()));
        Assert.Equal("file", root.GetProperty("source").GetProperty("kind").GetString());
        Assert.Equal(["Ingress shop/web: host a.example.com path /empty (Exact): service shop/empty has no ready endpoint; answers 503"],
            root.GetProperty("warnings").EnumerateArray().Select(static w => w.GetString()));
    }

    /// <summary>`dataplane` as the shell runs it (Program.cs), in process: exit code, stdout, stderr.</summary>
    internal static async Task<(int Code, string Stdout, string Stderr)> CliAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        ParseResult parse = DataplaneCli.Create().Parse(args);
        int code = ParseErrors.Refuse(parse, error) ?? await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>The value of one series in Prometheus text; -1 when absent.</summary>
    private static double Counter(string metrics, string series)
    {
        foreach (string line in metrics.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }
}
