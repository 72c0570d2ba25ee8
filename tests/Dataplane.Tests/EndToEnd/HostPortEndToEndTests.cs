using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// A node with a host port (node.hostPort) and a default route via node-b: the node namespace's kernel, which has no
/// address but the node's IP on dp-host and forwards nothing itself (ip_forward=0), reaches pods, a ClusterIP and the
/// outside through the dataplane; pods and an outside host on the uplink's subnet reach servers in the node's kernel.
/// node-b's namespace plays the outside: 192.168.77.11 (node-b, also the gateway), 192.168.77.50 (an outside client
/// the dataplane has no route entry for) and 203.0.113.7 (off the subnet, only through the gateway).
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class HostPortEndToEndTests : IClassFixture<HostPortEndToEndTests.Node>
{
    private const string Vip = "10.96.0.20";
    private const int BackendPort = 8080;
    private const string OutsideIp = "192.168.77.50";
    private const string InternetIp = "203.0.113.7";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private readonly NodeUnderTest _node;

    public HostPortEndToEndTests(Node fixture)
    {
        _node = fixture.Value;
    }

    public sealed class Node : IDisposable
    {
        public Node()
        {
            Value = NodeUnderTest.Start(new NodeOptions
            {
                Pods = ["c", "s"],
                Uplink = true,
                HostPort = true,
                UplinkGateway = NodeUnderTest.RemoteUplinkIp,
                Services = $$"""
                      - name: web
                        clusterIP: {{Vip}}
                        ports: [ { name: http, protocol: TCP, port: 80, targetPort: {{BackendPort}} } ]
                        endpoints: [ { ip: 10.244.1.12 } ]
                    """,
            });
            try
            {
                string remote = Value.RemoteNamespace!;
                TestNamespaces.Exec(remote, "ip", "addr", "add", $"{OutsideIp}/24", "dev", "eth0").EnsureSuccess();
                TestNamespaces.Exec(remote, "ip", "addr", "add", $"{InternetIp}/32", "dev", "lo").EnsureSuccess();
            }
            catch
            {
                Value.Dispose();
                throw;
            }
        }

        public NodeUnderTest Value { get; }

        public void Dispose() => Value.Dispose();
    }

    [RootFact]
    public void Host_tap_carries_the_node_address_and_a_default_route_via_the_link_local_next_hop_and_the_kernel_forwards_nothing()
    {
        string ns = _node.Namespace;
        string addresses = TestNamespaces.Exec(ns, "ip", "-4", "-o", "addr", "show", "dev", NodeUnderTest.HostPortName).EnsureSuccess().StdOut;
        Assert.Contains($"{NodeUnderTest.UplinkIp}/32", addresses, StringComparison.Ordinal);
        string routes = TestNamespaces.Exec(ns, "ip", "-4", "route", "show", "default").EnsureSuccess().StdOut;
        Assert.Contains($"default via 169.254.1.1 dev {NodeUnderTest.HostPortName} onlink", routes, StringComparison.Ordinal);
        Assert.Equal("0", TestNamespaces.Exec(ns, "sysctl", "-n", "net.ipv4.ip_forward").EnsureSuccess().StdOut.Trim());
        Assert.Equal("8", TestNamespaces.Exec(ns, "sysctl", "-n", $"net.ipv4.conf.{NodeUnderTest.UplinkInterface}.arp_ignore").EnsureSuccess().StdOut.Trim());
    }

    [RootFact]
    public async Task Kernel_pings_a_pod_and_connects_to_a_pod_and_to_a_cluster_ip_from_the_node_ip()
    {
        ProcessResult ping = TestNamespaces.Exec(_node.Namespace, "ping", "-c", "3", "-i", "0.2", "-W", "2", _node.Pod("s").Ip);
        Assert.True(ping.ExitCode == 0 && ping.StdOut.Contains("3 received", StringComparison.Ordinal), $"node -> pod s: {ping.StdOut}{ping.StdErr}{Environment.NewLine}{_node.DaemonOutput()}");

        using var server = new NameEchoServer(_node, "s", BackendPort);
        foreach (string target in (string[])[_node.Pod("s").Ip, Vip])
        {
            int port = target == Vip ? 80 : BackendPort;
            using Socket client = await PodServers.ConnectAsync(_node, _node.Namespace, target, port, s_timeout);
            string line = await PodServers.ReadLineAsync(client, s_timeout);
            // The backend sees the node's IP: the kernel's flows are not masqueraded.
            Assert.StartsWith($"s {NodeUnderTest.UplinkIp}:", line, StringComparison.Ordinal);
            Assert.Equal(new IPEndPoint(IPAddress.Parse(target), port), client.RemoteEndPoint);
        }

        // nc, as an operator would: the ClusterIP from the node, through the kernel's default route to the dataplane.
        ProcessResult nc = TestNamespaces.Exec(_node.Namespace, "sh", "-c", $"nc -N -w 5 {Vip} 80 </dev/null");
        Assert.True(nc.StdOut.StartsWith($"s {NodeUnderTest.UplinkIp}:", StringComparison.Ordinal), $"nc {Vip} 80 from the node: {nc.StdOut}{nc.StdErr}");
    }

    [RootFact]
    public async Task Pod_reaches_a_host_network_server_in_the_node_namespace()
    {
        using var server = new NameEchoServer(_node, _node.Namespace, 9100);
        using Socket client = await PodServers.ConnectAsync(_node, "c", NodeUnderTest.UplinkIp, 9100, s_timeout);
        string line = await PodServers.ReadLineAsync(client, s_timeout);
        Assert.StartsWith($"{_node.Namespace} {_node.Pod("c").Ip}:", line, StringComparison.Ordinal);
    }

    [RootFact]
    public async Task Outside_host_on_the_uplink_subnet_reaches_a_tcp_server_in_the_node_kernel()
    {
        using var server = new NameEchoServer(_node, _node.Namespace, 9200);
        using Socket client = _node.InNamespace(_node.RemoteNamespace!, () =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse(OutsideIp), 0));
            return socket;
        });
        using (var deadline = new CancellationTokenSource(s_timeout))
        {
            await client.ConnectAsync(new IPEndPoint(IPAddress.Parse(NodeUnderTest.UplinkIp), 9200), deadline.Token);
        }

        string line = await PodServers.ReadLineAsync(client, s_timeout);
        Assert.StartsWith($"{_node.Namespace} {OutsideIp}:", line, StringComparison.Ordinal);
        // The client's replies went to a host the dataplane has no route entry for: found in the neighbour table, learned
        // from the client's ARP for the node's IP (or from the reply to the dataplane's own request, when another test
        // of this class reached it first).
        Assert.True(_node.Counter("arp", "neighbors-learned") >= 1, "no uplink neighbour was ever learned");
    }

    [RootFact]
    public async Task Kernel_reaches_an_unresolved_host_on_the_uplink_subnet_and_an_address_behind_the_gateway()
    {
        foreach ((string ip, int port) in ((string, int)[])[(OutsideIp, 9300), (InternetIp, 9301)])
        {
            using Socket listener = _node.InNamespace(_node.RemoteNamespace!, () =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse(ip), port));
                socket.Listen(4);
                return socket;
            });
            Task<Socket> accepting = listener.AcceptAsync();
            using Socket client = await PodServers.ConnectAsync(_node, _node.Namespace, ip, port, s_timeout);
            using Socket accepted = await accepting.WaitAsync(s_timeout);
            Assert.Equal(IPAddress.Parse(NodeUnderTest.UplinkIp), ((IPEndPoint)accepted.RemoteEndPoint!).Address);
        }
    }
}
