using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.Json;
using Dataplane.Tests.EndToEnd;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Metrics;

/// <summary>
/// A running node with `--metrics-address` and `--log-format json`, scraped by the real Prometheus and checked by
/// promtool; `ctl metrics`, `ctl health`, `-o yaml`, `--watch` and `flows --follow` against the same daemon.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class MetricsEndToEndTests : IClassFixture<MetricsEndToEndTests.Node>
{
    /// <summary>A service with no endpoints: each datagram to it is one `no-endpoints` event, nothing else counts there.</summary>
    private const string EmptyVip = "10.96.9.10";
    private const string EchoVip = "10.96.9.11";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly Node _fixture;
    private readonly NodeUnderTest _node;

    public MetricsEndToEndTests(Node fixture)
    {
        _fixture = fixture;
        _node = fixture.Value;
    }

    public sealed class Node : IDisposable
    {
        public Node()
        {
            MetricsAddress = $"127.0.0.1:{FreePort()}";
            Value = NodeUnderTest.Start(new NodeOptions
            {
                Pods = ["a", "b"],
                RunArguments = ["--metrics-address", MetricsAddress, "--log-format", "json"],
                Services = $$"""
                      - name: empty
                        clusterIP: {{EmptyVip}}
                        ports: [ { name: dns, protocol: UDP, port: 53 } ]
                        endpoints: []
                      - name: echo
                        clusterIP: {{EchoVip}}
                        ports: [ { name: dns, protocol: UDP, port: 53, targetPort: 5353 } ]
                        endpoints: [ { ip: 10.244.1.12 } ]
                    """,
            });
        }

        public string MetricsAddress { get; }

        public NodeUnderTest Value { get; }

        public void Dispose() => Value.Dispose();
    }

    [RootFact]
    public async Task Prometheus_scrapes_the_endpoint_and_a_PromQL_query_returns_the_counter_after_known_traffic()
    {
        const int datagrams = 7;
        SendUdp("a", EmptyVip, 53, datagrams);
        Poll.Until(() => _node.Counter("conntrack", "no-endpoints") == datagrams, s_timeout, $"{datagrams} no-endpoints events in ctl stats");

        using var dir = new Io.TempDirectory();
        int webPort = FreePort();
        File.WriteAllText(dir.File("prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: dataplane
                static_configs:
                  - targets: ['{_fixture.MetricsAddress}']
            """);
        using var prometheus = new BackgroundProcess("prometheus", $"--config.file={dir.File("prometheus.yml")}",
            $"--storage.tsdb.path={dir.File("data")}", $"--web.listen-address=127.0.0.1:{webPort}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        string query = "dataplane_stage_events_total{stage=\"conntrack\",event=\"no-endpoints\"}";
        double value = await QueryUntilAsync(http, webPort, query, prometheus);
        Assert.Equal(datagrams, value);
        double received = await QueryUntilAsync(http, webPort, "dataplane_port_rx_packets_total{port=\"a\",kind=\"pod\"}", prometheus);
        Assert.True(received >= datagrams, $"port a received {received} frames, fewer than the {datagrams} datagrams sent");
        Assert.Equal(1, await QueryUntilAsync(http, webPort, "up{job=\"dataplane\"}", prometheus));

        // Batches by size range add up to every batch the graph ran (ctl stats), once traffic is quiet.
        double batches = 0;
        long graphBatches = -1;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < s_timeout && batches != graphBatches)
        {
            graphBatches = _node.CtlJson("stats").GetProperty("batches").GetInt64();
            batches = await QueryUntilAsync(http, webPort, "sum(dataplane_worker_batches_total)", prometheus);
        }

        Assert.Equal(graphBatches, batches);
    }

    [RootFact]
    public async Task Promtool_accepts_the_exposition_and_it_has_every_family_the_operator_needs()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string text = await http.GetStringAsync(new Uri($"http://{_fixture.MetricsAddress}/metrics"));

        using var promtool = new BackgroundProcess("promtool", "check", "metrics");
        await promtool.StandardInput.WriteAsync(text);
        promtool.StandardInput.Close();
        int exit = promtool.WaitForExit(s_timeout);

        Assert.True(exit == 0, $"promtool check metrics exited {exit}: {promtool.StdOut} {promtool.StdErr}");
        foreach (string family in (string[])[
            "dataplane_port_rx_packets_total", "dataplane_port_tx_bytes_total", "dataplane_port_rx_drops_total", "dataplane_drops_total",
            "dataplane_stage_packets_total", "dataplane_conntrack_entries", "dataplane_conntrack_capacity", "dataplane_conntrack_inserts_total",
            "dataplane_conntrack_table_full_drops_total", "dataplane_conntrack_pod_entries", "dataplane_services", "dataplane_service_backends", "dataplane_worker_busy_seconds_total",
            "dataplane_worker_busy_ratio", "dataplane_worker_batches_total", "dataplane_worker_batch_packets_total", "dataplane_service_new_flows_total", "dataplane_build_info"])
        {
            Assert.Contains("\n" + family + "{", "\n" + text, StringComparison.Ordinal);
        }

        Assert.Contains("reason=\"table-full\"", text, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^dataplane_conntrack_capacity(\{\})? 65536$", text);
        Assert.Matches(@"(?m)^dataplane_service_backends\{port=""dns"",protocol=""udp"",service=""default/echo""\} 1$", text);
    }

    [RootFact]
    public async Task Health_and_readiness_answer_ok_over_http_and_through_the_control_socket()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (string path in (string[])["/healthz", "/readyz"])
        {
            using HttpResponseMessage response = await http.GetAsync(new Uri($"http://{_fixture.MetricsAddress}{path}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("ok", (await response.Content.ReadAsStringAsync()).Trim());
        }

        JsonElement health = _node.CtlJson("health");
        Assert.Equal(200, health.GetProperty("live").GetProperty("status").GetInt32());
        Assert.Equal(200, health.GetProperty("ready").GetProperty("status").GetInt32());

        ProcessResult metrics = _node.Ctl("metrics").EnsureSuccess();
        Assert.Contains("dataplane_worker_loop_iterations_total{worker=\"0\"}", metrics.StdOut, StringComparison.Ordinal);
    }

    [RootFact]
    public void Flows_follow_prints_the_start_and_end_of_a_flow_with_its_nat_as_json()
    {
        using var follow = new BackgroundProcess(NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "ctl", "--socket", _node.SocketPath, "flows", "--follow", "-o", "json", "--count", "2");
        Poll.Until(() => follow.StdErr.Contains("following", StringComparison.Ordinal) || follow.HasExited, s_timeout, "ctl flows --follow to attach");
        Assert.False(follow.HasExited, $"ctl flows --follow exited early: {follow.StdErr}");

        int sourcePort = SendUdp("a", EchoVip, 53, 1);
        Poll.Until(() => follow.StdOut.Contains("\"new\"", StringComparison.Ordinal), s_timeout, "the flow's new event");
        _node.Ctl("conntrack", "--ip", EchoVip, "--port", sourcePort.ToString(CultureInfo.InvariantCulture), "--flush").EnsureSuccess();

        Assert.Equal(0, follow.WaitForExit(s_timeout));
        string[] lines = follow.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, lines.Length);
        (string Event, JsonElement Flow)[] events = [.. lines.Select(static l =>
        {
            JsonElement e = JsonDocument.Parse(l).RootElement.Clone();
            return (e.GetProperty("event").GetString()!, e.GetProperty("flow"));
        })];
        Assert.Equal(["new", "end"], events.Select(static e => e.Event));
        foreach ((_, JsonElement flow) in events)
        {
            Assert.Equal("udp", flow.GetProperty("protocol").GetString());
            Assert.Equal(_node.Pod("a").Ip, flow.GetProperty("source").GetString());
            Assert.Equal(sourcePort, flow.GetProperty("sourcePort").GetInt32());
            Assert.Equal(EchoVip, flow.GetProperty("destination").GetString());
            Assert.Equal(_node.Pod("b").Ip, flow.GetProperty("backend").GetString());
            Assert.Equal(5353, flow.GetProperty("backendPort").GetInt32());
        }
    }

    [RootFact]
    public void Output_yaml_and_wide_and_watch_and_json_logs()
    {
        ProcessResult yaml = _node.Ctl("status", "-o", "yaml").EnsureSuccess();
        var status = new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(yaml.StdOut);
        Assert.Equal(_node.NodeName, status["node"]);
        Assert.Equal("65536", status["conntrackCapacity"]);

        ProcessResult wide = _node.Ctl("ports", "-o", "wide").EnsureSuccess();
        Assert.Contains("rx drops", wide.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("rx drops", _node.Ctl("ports").EnsureSuccess().StdOut, StringComparison.Ordinal);

        using (var watch = new BackgroundProcess(NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "ctl", "--socket", _node.SocketPath, "stats", "--watch"))
        {
            // Three reprints, each with its own timestamp header, then Ctrl-C ends it (130, the shells' status for SIGINT).
            Poll.Until(() => watch.StdOut.Split('\n').Count(static l => l.StartsWith("# ", StringComparison.Ordinal)) >= 3 || watch.HasExited, s_timeout, "three reprints of ctl stats --watch");
            Assert.False(watch.HasExited, $"ctl stats --watch exited: {watch.StdErr}");
            watch.Interrupt();
            Assert.Equal(130, watch.WaitForExit(s_timeout));
            Assert.Contains("conntrack", watch.StdOut, StringComparison.Ordinal);
        }

        string[] logLines = _node.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(logLines);
        foreach (string line in logLines)
        {
            using JsonDocument entry = JsonDocument.Parse(line);
            Assert.True(entry.RootElement.TryGetProperty("Message", out _), $"log line without a Message: {line}");
            Assert.True(entry.RootElement.TryGetProperty("Timestamp", out _), $"log line without a Timestamp: {line}");
        }

        Assert.Contains(logLines, static l => l.Contains("metrics: http://", StringComparison.Ordinal));
    }

    /// <summary>Sends datagrams from one socket in the pod; returns its source port.</summary>
    private int SendUdp(string pod, string ip, int port, int count)
    {
        using Socket socket = _node.Socket(pod, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Any, 0));
        var target = new IPEndPoint(IPAddress.Parse(ip), port);
        for (int i = 0; i < count; i++)
        {
            socket.SendTo("metrics"u8, target);
        }

        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Runs an instant query until it returns one sample (Prometheus has scraped at least once); returns its value.</summary>
    private static async Task<double> QueryUntilAsync(HttpClient http, int webPort, string query, BackgroundProcess prometheus)
    {
        var uri = new Uri($"http://127.0.0.1:{webPort}/api/v1/query?query={Uri.EscapeDataString(query)}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < s_timeout)
        {
            Assert.False(prometheus.HasExited, $"prometheus exited: {prometheus.StdErr}");
            try
            {
                last = await http.GetStringAsync(uri);
                using JsonDocument document = JsonDocument.Parse(last);
                JsonElement result = document.RootElement.GetProperty("data").GetProperty("result");
                if (result.GetArrayLength() == 1)
                {
                    return double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
                }
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message; // not listening yet
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"no sample for {query} within {s_timeout.TotalSeconds} s; last answer: {last}; prometheus: {prometheus.StdErr}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
