using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dataplane.Tests.Infrastructure;
using System.Runtime.Versioning;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// A running node with a client pod `c`, a server pod `s`, three ClusterIP services on `s` and an uplink to
/// node-b. Real tools (ping, iperf3, ss, tshark) and .NET sockets run inside the pod namespaces.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class PodTrafficTests : IClassFixture<PodTrafficTests.Node>
{
    public const string IperfVip = "10.96.0.10";
    public const string BlobVip = "10.96.0.11";
    public const string EchoVip = "10.96.0.12";
    private const int IperfPort = 5201;
    private const int BlobPort = 9000;
    private const int EchoPort = 5353;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private readonly NodeUnderTest _node;
    private readonly PodInfo _client;
    private readonly PodInfo _server;

    public PodTrafficTests(Node fixture)
    {
        _node = fixture.Value;
        _client = _node.Pod("c");
        _server = _node.Pod("s");
    }

    /// <summary>One daemon for the class (tests in a class run one at a time); each test uses its own ports or VIPs.</summary>
    public sealed class Node : IDisposable
    {
        public NodeUnderTest Value { get; } = NodeUnderTest.Start(new NodeOptions
        {
            Pods = ["c", "s"],
            Uplink = true,
            Services = $$"""
                  - name: iperf
                    clusterIP: {{IperfVip}}
                    ports: [ { name: tcp, protocol: TCP, port: 80, targetPort: {{IperfPort}} } ]
                    endpoints: [ { ip: 10.244.1.12 } ]
                  - name: blob
                    clusterIP: {{BlobVip}}
                    ports: [ { name: tcp, protocol: TCP, port: 80, targetPort: {{BlobPort}} } ]
                    endpoints: [ { ip: 10.244.1.12 } ]
                  - name: echo
                    clusterIP: {{EchoVip}}
                    ports: [ { name: dns, protocol: UDP, port: 53, targetPort: {{EchoPort}} } ]
                    endpoints: [ { ip: 10.244.1.12 } ]
                """,
        });

        public void Dispose() => Value.Dispose();
    }

    [RootFact]
    public async Task Ping_reaches_the_other_pod_and_the_gateway_with_no_bridge_netfilter_or_ip_forward_in_the_node_namespace()
    {
        Task<ProcessResult> toPod = _node.ExecInPodAsync("c", s_timeout, "ping", "-c", "50", "-i", "0.1", "-W", "2", _server.Ip);
        Task<ProcessResult> toGateway = _node.ExecInPodAsync("s", s_timeout, "ping", "-c", "50", "-i", "0.1", "-W", "2", NodeUnderTest.GatewayIp);
        WaitForReply(_client, _server.Ip);

        // While both pings run: the node namespace forwards nothing itself.
        Assert.Equal(0, TestNamespaces.IpJson("-n", _node.Namespace, "link", "show", "type", "bridge").GetArrayLength());
        ProcessResult nft = TestNamespaces.Exec(_node.Namespace, "nft", "list", "ruleset").EnsureSuccess();
        Assert.True(nft.StdOut.Trim().Length == 0, $"nft ruleset in the node namespace is not empty:{Environment.NewLine}{nft.StdOut}");
        ProcessResult iptables = TestNamespaces.Exec(_node.Namespace, "iptables-save").EnsureSuccess();
        string[] rules = iptables.StdOut.Split('\n').Where(l => l.StartsWith("-A", StringComparison.Ordinal)).ToArray();
        Assert.True(rules.Length == 0, $"iptables rules in the node namespace: {string.Join("; ", rules)}");
        Assert.Equal("0", TestNamespaces.Exec(_node.Namespace, "sysctl", "-n", "net.ipv4.ip_forward").EnsureSuccess().StdOut.Trim());
        Assert.False(toPod.IsCompleted, "the pod-to-pod ping finished before the node namespace was checked: the checks did not run while traffic flowed");

        ProcessResult pod = await toPod;
        ProcessResult gateway = await toGateway;
        Assert.True(pod.ExitCode == 0 && pod.StdOut.Contains("50 received", StringComparison.Ordinal), $"c -> s: {pod.StdOut}{pod.StdErr}{Environment.NewLine}{_node.DaemonOutput()}");
        Assert.True(gateway.ExitCode == 0 && gateway.StdOut.Contains("50 received", StringComparison.Ordinal), $"s -> gateway: {gateway.StdOut}{gateway.StdErr}{Environment.NewLine}{_node.DaemonOutput()}");
    }

    [RootFact]
    public async Task Iperf3_tcp_from_pod_to_pod_transfers_data()
    {
        JsonElement report = await Iperf3Async(_server.Ip, IperfPort, seconds: 1, duringTransfer: null);

        Assert.True(ReceivedBytes(report) > 0, $"iperf3 received nothing: {report}");
    }

    [RootFact]
    public async Task Iperf3_tcp_to_a_cluster_ip_reaches_the_backend_and_replies_come_from_the_vip()
    {
        string clientSockets = "", serverSockets = "";
        JsonElement report = await Iperf3Async(IperfVip, 80, seconds: 2, duringTransfer: () =>
        {
            // Replies are un-NATed: the client's socket is connected to the VIP; the backend sees the real client.
            clientSockets = Poll.UntilValue(() => NonEmpty(_node.ExecInPod("c", "ss", "-Htn", "state", "established", "dst", IperfVip).StdOut), s_timeout, "an established socket to the VIP in the client pod");
            serverSockets = _node.ExecInPod("s", "ss", "-Htn", "state", "established", "sport", $"= :{IperfPort}").StdOut;
        });

        Assert.True(ReceivedBytes(report) > 0, $"iperf3 received nothing: {report}");
        Assert.Contains($"{IperfVip}:80", clientSockets, StringComparison.Ordinal);
        // iperf3 listens dual-stack, so ss shows the client as [::ffff:10.244.1.11]:port.
        Assert.Matches($@"[\s\[:]{System.Text.RegularExpressions.Regex.Escape(_client.Ip)}\]?:\d+", serverSockets);
        Assert.DoesNotContain(IperfVip, serverSockets, StringComparison.Ordinal);
        JsonElement conntrack = _node.CtlJson("conntrack", "--ip", IperfVip);
        Assert.True(
            conntrack.GetProperty("flows").EnumerateArray().Any(f =>
                f.GetProperty("protocol").GetString() == "tcp" && f.GetProperty("source").GetString() == _client.Ip
                && f.GetProperty("destination").GetString() == IperfVip && f.GetProperty("destinationPort").GetInt32() == 80
                && f.GetProperty("backend").GetString() == _server.Ip && f.GetProperty("backendPort").GetInt32() == IperfPort
                && f.GetProperty("seenReply").GetBoolean()),
            $"ctl conntrack shows no replied c -> {IperfVip}:80 flow to {_server.Ip}:{IperfPort}: {conntrack}");
    }

    [RootFact]
    public async Task A_known_payload_sent_through_a_vip_arrives_intact()
    {
        byte[] payload = RandomNumberGenerator.GetBytes(16 << 20);
        using Socket listener = PodServers.Listen(_node, "s", BlobPort);
        Task<HashSink.Received> receiving = HashSink.ReceiveOneAsync(listener, s_timeout);

        using (Socket client = await PodServers.ConnectAsync(_node, "c", BlobVip, 80, s_timeout))
        {
            Assert.Equal(new IPEndPoint(IPAddress.Parse(BlobVip), 80), client.RemoteEndPoint);
            await HashSink.SendAllAsync(client, payload, s_timeout);
            HashSink.Received received = await receiving;

            Assert.Equal(payload.Length, received.Bytes);
            Assert.Equal(Convert.ToHexString(SHA256.HashData(payload)), Convert.ToHexString(received.Sha256));
            Assert.Equal(IPAddress.Parse(_client.Ip), ((IPEndPoint)received.Peer!).Address);
        }
    }

    [RootFact]
    public async Task Udp_through_a_vip_is_answered_from_the_vip()
    {
        using var echo = new UdpEchoServer(_node, "s", EchoPort);
        using Socket client = _node.Socket("c", SocketType.Dgram, ProtocolType.Udp);
        var vip = new IPEndPoint(IPAddress.Parse(EchoVip), 53);
        byte[] buffer = new byte[2048];
        for (int i = 0; i < 10; i++)
        {
            byte[] request = Encoding.ASCII.GetBytes($"request {i} {Guid.NewGuid()}");
            await client.SendToAsync(request, SocketFlags.None, vip);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            SocketReceiveFromResult reply = await client.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), deadline.Token);

            Assert.Equal(vip, reply.RemoteEndPoint);
            Assert.Equal("s " + Encoding.ASCII.GetString(request), Encoding.ASCII.GetString(buffer, 0, reply.ReceivedBytes));
        }

        JsonElement conntrack = _node.CtlJson("conntrack", "--ip", EchoVip);
        Assert.True(
            conntrack.GetProperty("flows").EnumerateArray().Any(f =>
                f.GetProperty("protocol").GetString() == "udp" && f.GetProperty("source").GetString() == _client.Ip
                && f.GetProperty("backend").GetString() == _server.Ip && f.GetProperty("backendPort").GetInt32() == EchoPort
                && f.GetProperty("seenReply").GetBoolean()),
            $"ctl conntrack shows no replied UDP flow to the backend: {conntrack}");
    }

    [RootFact]
    public async Task Ctl_capture_writes_a_pcap_that_tshark_reads_with_the_echo_requests_and_replies()
    {
        string pcap = Path.Combine(_node.Directory, "capture-c.pcap");
        Task<ProcessResult> ping = _node.ExecInPodAsync("c", s_timeout, "ping", "-c", "100", "-i", "0.05", "-W", "2", _server.Ip);
        try
        {
            WaitForReply(_client, _server.Ip);
            JsonElement result = _node.CtlJson("capture", "c", "-w", pcap, "--count", "8", "--seconds", "10");

            Assert.Equal(8, result.GetProperty("packets").GetInt64());
        }
        finally
        {
            await ping;
        }

        ProcessResult tshark = ProcessRunner.Run(s_timeout, "tshark", "-r", pcap, "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type").EnsureSuccess();
        string[] frames = tshark.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(8, frames.Length);
        string[] icmp = frames.Where(f => f.Split(',') is [_, _, var type] && type.Length > 0).ToArray();
        Assert.True(icmp.Length >= 6, $"tshark found only {icmp.Length} ICMP frames of 8: {tshark.StdOut}");
        Assert.All(icmp, f => Assert.Contains(f, (string[])[$"{_client.Ip},{_server.Ip},8", $"{_server.Ip},{_client.Ip},0"]));
        Assert.Contains($"{_client.Ip},{_server.Ip},8", icmp);
        Assert.Contains($"{_server.Ip},{_client.Ip},0", icmp);

        // The pipeline's clock is monotonic; pcap records still carry Unix time.
        ProcessResult times = ProcessRunner.Run(s_timeout, "tshark", "-r", pcap, "-T", "fields", "-e", "frame.time_epoch").EnsureSuccess();
        double unixNow = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        Assert.All(times.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            t => Assert.InRange(double.Parse(t, System.Globalization.CultureInfo.InvariantCulture), unixNow - 300, unixNow + 5));
    }

    [RootFact]
    public async Task Ctl_trace_shows_each_stage_a_ping_passes()
    {
        Task<ProcessResult> ping = _node.ExecInPodAsync("c", s_timeout, "ping", "-c", "200", "-i", "0.02", "-W", "2", _server.Ip);
        JsonElement trace;
        try
        {
            WaitForReply(_client, _server.Ip);
            trace = _node.CtlJson("trace", "2");
        }
        finally
        {
            await ping;
        }

        string text = trace.GetProperty("text").GetString()!;
        Assert.Equal(2, trace.GetProperty("traced").GetInt32());
        foreach (string stage in (string[])["ethernet-input", "ip4-input", "source-guard", "conntrack", "bridge", "interface-output"])
        {
            Assert.Contains(stage, text, StringComparison.Ordinal);
        }

        Assert.Contains($"{_client.Ip} > {_server.Ip}", text, StringComparison.Ordinal);

        // "packet N from c at <seconds>": Unix time, converted from the monotonic pipeline clock.
        double unixNow = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        MatchCollection stamps = Regex.Matches(text, @"^packet \d+ from \S+ at (\d+\.\d+):", RegexOptions.Multiline);
        Assert.NotEmpty(stamps);
        Assert.All(stamps, m => Assert.InRange(double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), unixNow - 300, unixNow + 5));
    }

    [RootFact]
    public async Task A_pod_reaches_a_pod_of_another_node_through_the_uplink_resolved_ahead_by_arp()
    {
        string remote = _node.RemoteNamespace!;
        // The daemon ARPs for configured next hops as it starts, so even the first ping finds node-b resolved
        // (Linux would queue the first packet instead; we resolve before it is needed).
        Poll.Until(() => _node.Counter("arp", "next-hops-learned") > 0, s_timeout, "the daemon to learn node-b's MAC by ARP");
        ProcessResult first = await _node.ExecInPodAsync("c", s_timeout, "ping", "-c", "5", "-i", "0.2", "-W", "2", NodeUnderTest.RemotePodIp);

        Assert.True(first.StdOut.Contains("5 received", StringComparison.Ordinal), $"c -> node-b pod: {first.StdOut}{first.StdErr}{Environment.NewLine}{_node.DaemonOutput()}");
        Assert.Equal(0, _node.Counter("ip4-lookup", "next-hop-unresolved"));
        // node-b resolved our uplink IP to the configured uplink MAC: the dataplane answered its ARP request.
        JsonElement neighbours = TestNamespaces.IpJson("-n", remote, "neigh", "show", NodeUnderTest.UplinkIp);
        Assert.Contains(neighbours.EnumerateArray(), n => n.TryGetProperty("lladdr", out JsonElement mac) && mac.GetString() == NodeUnderTest.UplinkMac);

        // TCP too, with a payload checked end to end and the pod's own address as the source (routed, not NATed).
        byte[] payload = RandomNumberGenerator.GetBytes(4 << 20);
        using Socket listener = PodServers.Listen(_node, remote, 7000, NodeUnderTest.RemotePodIp);
        Task<HashSink.Received> receiving = HashSink.ReceiveOneAsync(listener, s_timeout);
        using Socket client = await PodServers.ConnectAsync(_node, "c", NodeUnderTest.RemotePodIp, 7000, s_timeout);
        await HashSink.SendAllAsync(client, payload, s_timeout);
        HashSink.Received received = await receiving;

        Assert.Equal(Convert.ToHexString(SHA256.HashData(payload)), Convert.ToHexString(received.Sha256));
        Assert.Equal(IPAddress.Parse(_client.Ip), ((IPEndPoint)received.Peer!).Address);
    }

    /// <summary>Runs an iperf3 server in pod s and a client in pod c against ip:port; returns the client's JSON report.</summary>
    private async Task<JsonElement> Iperf3Async(string ip, int port, int seconds, Action? duringTransfer)
    {
        string portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Task<ProcessResult> server = _node.ExecInPodAsync("s", s_timeout, "iperf3", "-s", "-1", "-p", IperfPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            Poll.Until(() => server.IsCompleted || NonEmpty(_node.ExecInPod("s", "ss", "-Htln", "sport", $"= :{IperfPort}").StdOut) is not null, s_timeout, "iperf3 to listen in pod s");
            Task<ProcessResult> client = _node.ExecInPodAsync("c", s_timeout, "iperf3", "-c", ip, "-p", portText, "-t", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-J");
            if (duringTransfer is not null)
            {
                await Task.Run(duringTransfer);
            }

            ProcessResult result = await client;
            Assert.True(result.ExitCode == 0, $"iperf3 -c {ip} -p {port} exited with {result.ExitCode}: {result.StdOut}{result.StdErr}{Environment.NewLine}{_node.DaemonOutput()}");
            using JsonDocument json = JsonDocument.Parse(result.StdOut);
            return json.RootElement.Clone();
        }
        finally
        {
            ProcessResult served = await server;
            Assert.True(served.ExitCode == 0, $"iperf3 server: {served.StdOut}{served.StdErr}");
        }
    }

    private static long ReceivedBytes(JsonElement report) => report.GetProperty("end").GetProperty("sum_received").GetProperty("bytes").GetInt64();

    private static string? NonEmpty(string text) => string.IsNullOrWhiteSpace(text) ? null : text;

    /// <summary>Waits until the ping started from <paramref name="pod"/> gets answers (so traffic is flowing).</summary>
    private void WaitForReply(PodInfo pod, string target) =>
        // A one-shot ping of our own: the background ping's output is only readable once it ends.
        Poll.Until(() => _node.ExecInPod(pod.Name, "ping", "-c", "1", "-W", "1", target).ExitCode == 0, s_timeout, $"{pod.Name} to get a ping reply from {target}");
}
