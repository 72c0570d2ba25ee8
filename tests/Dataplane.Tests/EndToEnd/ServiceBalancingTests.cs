using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dataplane.Tests.Infrastructure;
using System.Runtime.Versioning;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// A node with a client pod `c` and three backends b1..b3, each running a TCP server on 8080 that answers
/// "NAME PEER" and then echoes. Services: `spread` (all three), `self` (b1 only, for hairpin) and `drain`
/// (b1 and b2, shrunk at run time).
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class ServiceBalancingTests : IClassFixture<ServiceBalancingTests.Node>
{
    private const string SpreadVip = "10.96.1.10";
    private const string SelfVip = "10.96.1.20";
    private const string DrainVip = "10.96.1.30";
    private const int TargetPort = 8080;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private readonly NodeUnderTest _node;

    public ServiceBalancingTests(Node fixture) => _node = fixture.Value;

    public sealed class Node : IDisposable
    {
        private readonly NameEchoServer[] _servers;

        public Node()
        {
            Value = NodeUnderTest.Start(new NodeOptions
            {
                Pods = ["c", "b1", "b2", "b3"],
                Services = Service("spread", SpreadVip, "b1", "b2", "b3") + Service("self", SelfVip, "b1") + Service("drain", DrainVip, "b1", "b2"),
            });
            try
            {
                _servers = [.. ((string[])["b1", "b2", "b3"]).Select(b => new NameEchoServer(Value, b, TargetPort))];
            }
            catch
            {
                Value.Dispose();
                throw;
            }
        }

        public NodeUnderTest Value { get; }

        public static string Service(string name, string vip, params string[] backends)
        {
            // b1..b3 are pods 2..4 of the node: 10.244.1.12..14.
            string endpoints = string.Join(", ", backends.Select(b => $"{{ ip: 10.244.1.{11 + int.Parse(b[1..], System.Globalization.CultureInfo.InvariantCulture)} }}"));
            return $$"""
                  - name: {{name}}
                    clusterIP: {{vip}}
                    ports: [ { name: tcp, protocol: TCP, port: 80, targetPort: {{TargetPort}} } ]
                    endpoints: [ {{endpoints}} ]

                """;
        }

        public void Dispose()
        {
            foreach (NameEchoServer server in _servers)
            {
                server.Dispose();
            }

            Value.Dispose();
        }
    }

    [RootFact]
    public async Task New_connections_to_a_vip_spread_evenly_over_three_backends()
    {
        const int Connections = 90;
        var answers = new Dictionary<string, int>(StringComparer.Ordinal) { ["b1"] = 0, ["b2"] = 0, ["b3"] = 0 };
        for (int i = 0; i < Connections; i++)
        {
            (string backend, _) = await GreetingAsync("c", SpreadVip);
            answers[backend]++;
        }

        string spread = string.Join(", ", answers.Select(a => $"{a.Key}={a.Value}"));
        // Maglev over 5-tuple hashes: each share is binomial(90, 1/3), mean 30, sd 4.5; 15% (14) is 3.5 sd below.
        Assert.All(answers, a => Assert.True(a.Value >= Connections * 15 / 100, $"uneven spread over {Connections} connections: {spread}"));
    }

    [RootFact]
    public async Task A_backend_reaches_itself_through_its_own_vip_with_the_gateway_as_source()
    {
        PodInfo b1 = _node.Pod("b1");
        (string backend, string peer) = await GreetingAsync("b1", SelfVip);

        Assert.Equal("b1", backend);
        // Hairpin: the backend must see the gateway as the source, or its reply would bypass the dataplane's un-NAT.
        Assert.StartsWith(NodeUnderTest.GatewayIp + ":", peer, StringComparison.Ordinal);
        JsonElement conntrack = _node.CtlJson("conntrack", "--ip", SelfVip);
        Assert.True(
            conntrack.GetProperty("flows").EnumerateArray().Any(f =>
                f.GetProperty("source").GetString() == b1.Ip && f.GetProperty("backend").GetString() == b1.Ip
                && f.GetProperty("snat").GetString() == "gateway"),
            $"ctl conntrack shows no hairpin flow with snat gateway: {conntrack}");
    }

    [RootFact]
    public async Task Removing_an_endpoint_at_run_time_drops_its_flows_at_once_and_leaves_the_others_streaming()
    {
        PodInfo b1 = _node.Pod("b1"), b2 = _node.Pod("b2");
        long midstreamBefore = _node.Counter("conntrack", "midstream-to-service");
        using Socket toB1 = await ConnectToAsync(DrainVip, "b1");
        using Socket toB2 = await ConnectToAsync(DrainVip, "b2");
        using var stop = new CancellationTokenSource();
        var b1Stream = new EchoStream(toB1);
        var b2Stream = new EchoStream(toB2);
        Task b1Running = b1Stream.RunAsync(stop.Token);
        Task b2Running = b2Stream.RunAsync(stop.Token);
        try
        {
            Poll.Until(() => b1Stream.Echoes > 10 && b2Stream.Echoes > 10, s_timeout, "both streams to echo");
            JsonElement before = _node.CtlJson("conntrack", "--ip", DrainVip);
            Assert.Contains(before.GetProperty("flows").EnumerateArray(), f => f.GetProperty("backend").GetString() == b2.Ip);

            string yaml = Path.Combine(_node.Directory, "drain-b1-only.yaml");
            await File.WriteAllTextAsync(yaml, "services:\n" + Node.Service("drain", DrainVip, "b1"));
            ProcessResult apply = _node.Ctl("service", "apply", "-f", yaml);
            Assert.True(apply.ExitCode == 0, $"ctl service apply: {apply.StdErr}{apply.StdOut}");
            long b1EchoesAtApply = b1Stream.Echoes;

            // At once: the very next listing has no flow to b2, and still the one to b1.
            JsonElement after = _node.CtlJson("conntrack", "--ip", DrainVip);
            JsonElement[] flows = [.. after.GetProperty("flows").EnumerateArray()];
            Assert.DoesNotContain(flows, f => f.GetProperty("backend").GetString() == b2.Ip);
            Assert.Contains(flows, f => f.GetProperty("backend").GetString() == b1.Ip);

            // New connections go only to the remaining backend.
            for (int i = 0; i < 20; i++)
            {
                (string backend, _) = await GreetingAsync("c", DrainVip);
                Assert.Equal("b1", backend);
            }

            // The stream to b1 never stopped; the one to b2 is gone from the dataplane (its segments now arrive
            // mid-stream at a VIP with no flow and are dropped as such).
            Poll.Until(() => b1Stream.Echoes > b1EchoesAtApply + 20, s_timeout, "the stream to b1 to keep echoing");
            Assert.Null(b1Stream.Error);
            Assert.True(b1Stream.LongestGap < TimeSpan.FromSeconds(1), $"the stream to b1 stalled for {b1Stream.LongestGap}");
            Poll.Until(() => _node.Counter("conntrack", "midstream-to-service") > midstreamBefore, s_timeout, "b2's stream to be dropped mid-stream");
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(b1Running, b2Running);
            await File.WriteAllTextAsync(Path.Combine(_node.Directory, "drain-restore.yaml"), "services:\n" + Node.Service("drain", DrainVip, "b1", "b2"));
            _node.Ctl("service", "apply", "-f", Path.Combine(_node.Directory, "drain-restore.yaml"));
        }
    }

    /// <summary>Connects from a pod to vip:80, reads the greeting and closes: (backend name, peer it saw).</summary>
    private async Task<(string Backend, string Peer)> GreetingAsync(string pod, string vip)
    {
        using Socket socket = await PodServers.ConnectAsync(_node, pod, vip, 80, s_timeout);
        string line = await PodServers.ReadLineAsync(socket, s_timeout);
        string[] parts = line.Split(' ');
        return (parts[0], parts[1]);
    }

    /// <summary>Opens connections from c to the VIP until one lands on <paramref name="backend"/>; closes the rest.</summary>
    private async Task<Socket> ConnectToAsync(string vip, string backend)
    {
        for (int attempt = 0; attempt < 60; attempt++)
        {
            Socket socket = await PodServers.ConnectAsync(_node, "c", vip, 80, s_timeout);
            string line = await PodServers.ReadLineAsync(socket, s_timeout);
            if (line.StartsWith(backend + " ", StringComparison.Ordinal))
            {
                return socket;
            }

            socket.Dispose();
        }

        throw new InvalidOperationException($"60 connections to {vip} and none reached {backend}");
    }
}
