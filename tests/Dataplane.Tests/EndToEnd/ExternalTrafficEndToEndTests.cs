using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.Json;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// External traffic through the real daemon. The namespace on the far end of the uplink plays node-b (its kernel:
/// 192.168.77.11, a node-b pod address 10.244.2.12 on its lo) and the outside world (203.0.113.10 on its lo, which
/// our node reaches through it): NodePort with both traffic policies as the backend sees them, pod egress
/// masquerade as the outside server sees it, and healthCheckNodePort answering from the node's namespace as
/// services change.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class ExternalTrafficEndToEndTests : IClassFixture<ExternalTrafficEndToEndTests.Node>
{
    private const string Outside = "203.0.113.10";
    private const int TargetPort = 8080;
    private const int ClusterNodePort = 30080;
    private const int LocalNodePort = 30081;
    private const int HealthCheckPort = 32000;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private readonly NodeUnderTest _node;

    public ExternalTrafficEndToEndTests(Node fixture) => _node = fixture.Value;

    public static string Services(string localEndpoints) => $$"""
          - name: cluster
            type: NodePort
            clusterIP: 10.96.2.10
            ports: [ { port: 80, targetPort: {{TargetPort}}, nodePort: {{ClusterNodePort}} } ]
            endpoints: [ { ip: 10.244.1.11 } ]
          - name: local
            type: LoadBalancer
            clusterIP: 10.96.2.11
            externalTrafficPolicy: Local
            healthCheckNodePort: {{HealthCheckPort}}
            ports: [ { port: 80, targetPort: {{TargetPort}}, nodePort: {{LocalNodePort}} } ]
            endpoints: {{localEndpoints}}
        """;

    public sealed class Node : IDisposable
    {
        private readonly NameEchoServer _server;

        public Node()
        {
            Value = NodeUnderTest.Start(new NodeOptions
            {
                Pods = ["w", "c"],
                Uplink = true,
                ExtraRoutes = [$"{{ cidr: 203.0.113.0/24, via: {NodeUnderTest.RemoteUplinkIp} }}"],
                NodeExtra = ["  masquerade: { nonMasqueradeCidrs: [10.244.0.0/16] }"],
                Services = Services("[ { ip: 10.244.1.11 } ]"),
            });
            try
            {
                _server = new NameEchoServer(Value, "w", TargetPort);
                string remote = Value.RemoteNamespace!;
                Assert.Equal(0, TestNamespaces.Exec(remote, "ip", "addr", "add", $"{Outside}/32", "dev", "lo").ExitCode);

                // A node's loopback is up; the health check is asked over it here.
                Assert.Equal(0, TestNamespaces.Exec(Value.Namespace, "ip", "link", "set", "lo", "up").ExitCode);
            }
            catch
            {
                Value.Dispose();
                throw;
            }
        }

        public NodeUnderTest Value { get; }

        public void Dispose()
        {
            _server.Dispose();
            Value.Dispose();
        }
    }

    /// <summary>Connects from the far namespace with source <paramref name="from"/> and returns what the backend saw ("NAME PEER").</summary>
    private async Task<string> AskFromRemoteAsync(string from, string ip, int port)
    {
        using Socket socket = _node.InNamespace(_node.RemoteNamespace!, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
            return s;
        });
        using var deadline = new CancellationTokenSource(s_timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(ip), port), deadline.Token);
        return await PodServers.ReadLineAsync(socket, s_timeout);
    }

    [RootFact]
    public async Task Node_port_with_cluster_policy_shows_the_backend_the_node_and_with_local_policy_the_client()
    {
        // "NAME ADDRESS:PORT" as the backend saw its client.
        string[] cluster = (await AskFromRemoteAsync(NodeUnderTest.RemotePodIp, NodeUnderTest.UplinkIp, ClusterNodePort)).Split(' ', ':');
        Assert.Equal(["w", NodeUnderTest.UplinkIp], cluster[..2]);
        Assert.False(int.Parse(cluster[2], System.Globalization.CultureInfo.InvariantCulture) is >= 30000 and <= 32767, "the SNAT port is in the node-port range");

        string[] local = (await AskFromRemoteAsync(NodeUnderTest.RemotePodIp, NodeUnderTest.UplinkIp, LocalNodePort)).Split(' ', ':');
        Assert.Equal(["w", NodeUnderTest.RemotePodIp], local[..2]);
        Assert.True(_node.Counter("conntrack", "external-flows") >= 2);
    }

    [RootFact]
    public async Task Pod_traffic_to_the_outside_leaves_with_the_node_address()
    {
        using Socket listener = PodServers.Listen(_node, _node.RemoteNamespace!, 9443, Outside);
        Task<Socket> accepted = listener.AcceptAsync();
        using Socket client = await PodServers.ConnectAsync(_node, "c", Outside, 9443, s_timeout);
        using Socket server = await accepted.WaitAsync(s_timeout);

        var peer = (IPEndPoint)server.RemoteEndPoint!;
        Assert.Equal(NodeUnderTest.UplinkIp, peer.Address.ToString());
        Assert.Equal(((IPEndPoint)client.LocalEndPoint!).Port, peer.Port); // a free port outside the node-port range is kept

        // Both ways after the translation.
        await client.SendAsync("ping\n"u8.ToArray());
        var buffer = new byte[5];
        await PodServers.ReceiveExactlyAsync(server, buffer, new CancellationTokenSource(s_timeout).Token);
        await server.SendAsync(buffer);
        var back = new byte[5];
        await PodServers.ReceiveExactlyAsync(client, back, new CancellationTokenSource(s_timeout).Token);
        Assert.Equal("ping\n"u8.ToArray(), back);
        Assert.True(_node.Counter("conntrack", "masqueraded") >= 1);
    }

    [RootFact]
    public async Task Health_check_node_port_answers_as_kube_proxy_and_follows_the_endpoints()
    {
        Poll.Until(() => _node.Log.Contains($"health check node port {HealthCheckPort}", StringComparison.Ordinal), s_timeout, "the daemon to open the health check port; its log: " + _node.Log);
        Assert.DoesNotContain("cannot listen", _node.Log, StringComparison.Ordinal);
        (int status, JsonElement body) = await HealthAsync();
        Assert.Equal(200, status);
        Assert.Equal(1, body.GetProperty("localEndpoints").GetInt32());
        Assert.Equal("local", body.GetProperty("service").GetProperty("name").GetString());

        // The only endpoint moves to another node: the check turns 503 (the balancer stops sending here).
        try
        {
            _node.WriteConfig(Services("[ { ip: 10.244.2.12 } ]"));
            _node.Signal("HUP");
            Poll.Until(() => HealthAsync().GetAwaiter().GetResult().Status == 503, s_timeout, "health check to answer 503 after the reload");
            Assert.Equal(0, (await HealthAsync()).Body.GetProperty("localEndpoints").GetInt32());
        }
        finally
        {
            _node.WriteConfig(Services("[ { ip: 10.244.1.11 } ]"));
            _node.Signal("HUP");
            Poll.Until(() => HealthAsync().GetAwaiter().GetResult().Status == 200, s_timeout, "health check to answer 200 again");
        }
    }

    /// <summary>GET / on the health check port, from inside the node's namespace (where the node's kernel serves it).</summary>
    private async Task<(int Status, JsonElement Body)> HealthAsync()
    {
        using Socket socket = _node.InNamespace(_node.Namespace, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using var deadline = new CancellationTokenSource(s_timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, HealthCheckPort), deadline.Token);
        using var handler = new SocketsHttpHandler { ConnectCallback = (_, _) => ValueTask.FromResult<Stream>(new NetworkStream(socket, ownsSocket: false)) };
        using var http = new HttpClient(handler) { Timeout = s_timeout };
        using HttpResponseMessage response = await http.GetAsync(new Uri($"http://node:{HealthCheckPort}/"), deadline.Token);
        using JsonDocument json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(deadline.Token));
        return ((int)response.StatusCode, json.RootElement.Clone());
    }
}
