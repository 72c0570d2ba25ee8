using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.Json;
using Dataplane.Kubernetes;
using Dataplane.Tests.Infrastructure;
using Dataplane.Tests.Kubernetes;
using k8s.Models;
using Xunit.Abstractions;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// A node that follows the (test double) API server: the daemon runs with <c>--kubeconfig</c> and <c>--node-name</c>,
/// its node.yaml names no services, and a Service with its EndpointSlice is created, scaled, drained, shrunk,
/// retargeted and deleted through the watch while a client pod keeps connecting. Pods c, b1, b2, b3 each run a
/// name-echo server on 8080 (b3 also on 9090).
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class KubernetesApiEndToEndTests : IClassFixture<KubernetesApiEndToEndTests.Cluster>
{
    private const string Vip = "10.96.5.10";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private readonly Cluster _cluster;
    private readonly ITestOutputHelper _output;

    public KubernetesApiEndToEndTests(Cluster cluster, ITestOutputHelper output)
    {
        _cluster = cluster;
        _output = output;
    }

    private NodeUnderTest Node => _cluster.Node;

    private FakeApiServer Api => _cluster.Api;

    public sealed class Cluster : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("dp-k8s-e2e-").FullName;
        private readonly List<NameEchoServer> _servers = [];

        public Cluster()
        {
            Api = FakeApiServer.StartAsync().GetAwaiter().GetResult();
            string name = TestNamespaces.UniqueName();
            Api.Upsert(ApiModels.Node(name, NodeUnderTest.PodCidr));
            try
            {
                Node = NodeUnderTest.Start(new NodeOptions
                {
                    Name = name,
                    Pods = ["c", "b1", "b2", "b3"],
                    RunArguments = ["--kubeconfig", Api.WriteKubeconfig(_directory), "--node-name", name],
                });
                foreach (string backend in (string[])["b1", "b2", "b3"])
                {
                    _servers.Add(new NameEchoServer(Node, backend, 8080));
                }

                _servers.Add(new NameEchoServer(Node, "b3", 9090));
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public FakeApiServer Api { get; }

        public NodeUnderTest Node { get; } = null!;

        public void Dispose()
        {
            foreach (NameEchoServer server in _servers)
            {
                server.Dispose();
            }

            Node?.Dispose();
            Api.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Directory.Delete(_directory, recursive: true);
        }
    }

    [RootFact]
    public async Task A_service_follows_the_watch_through_create_scale_drain_shrink_retarget_and_delete()
    {
        PodInfo b1 = Node.Pod("b1"), b2 = Node.Pod("b2"), b3 = Node.Pod("b3");
        var stopwatch = Stopwatch.StartNew();
        Api.Upsert(ApiModels.Service("shop", "web", Vip));
        Api.Upsert(ApiModels.Slice("shop", "web", "web-a", 8080, (b1.Ip, ApiModels.Ready)));
        await Until(async () => await Greeting() == "b1", "the new service to reach b1");
        _output.WriteLine($"created: first connection through the VIP {stopwatch.ElapsedMilliseconds} ms after the objects were written");
        AssertServiceShown("shop/web");

        // Scaled: b2 joins.
        Api.Upsert(ApiModels.Slice("shop", "web", "web-a", 8080, (b1.Ip, ApiModels.Ready), (b2.Ip, ApiModels.Ready)));
        await Until(async () => await Greeting() == "b2", "a connection to reach the added b2");

        // A UDP flow to b2 (nobody answers; conntrack tracks it all the same).
        int udpPort = SendUdpUntilFlowTo(b2.Ip);

        // b2 terminating: its established stream keeps flowing, new connections go to b1 only.
        using Socket toB2 = await ConnectTo("b2");
        using var stop = new CancellationTokenSource();
        var stream = new EchoStream(toB2);
        Task streaming = stream.RunAsync(stop.Token);
        try
        {
            Poll.Until(() => stream.Echoes > 10, s_timeout, "the stream to b2 to echo");
            Api.Upsert(ApiModels.Slice("shop", "web", "web-a", 8080, (b1.Ip, ApiModels.Ready), (b2.Ip, ApiModels.Terminating)));
            await Until(async () => await AllGreetings(10) is ["b1"], "new connections to avoid the terminating b2");
            long atDrain = stream.Echoes;
            Poll.Until(() => stream.Echoes > atDrain + 20, s_timeout, "the stream to the terminating b2 to keep echoing");
            Assert.Null(stream.Error);

            // b2 removed: its TCP and UDP flows are flushed at once, b1's stay.
            Api.Upsert(ApiModels.Slice("shop", "web", "web-a", 8080, (b1.Ip, ApiModels.Ready)));
            Poll.Until(() => !Flows().Any(f => f.Backend == b2.Ip), s_timeout, "b2's flows to be flushed");
            Assert.DoesNotContain(Flows(), f => f.Backend == b2.Ip && f.SourcePort == udpPort);
            Assert.Equal(["b1"], await AllGreetings(10));
        }
        finally
        {
            stop.Cancel();
            await streaming;
        }

        // Retargeted: the slice now says b3 on 9090 (a rolling update that renumbered the container port).
        Api.Upsert(ApiModels.Slice("shop", "web", "web-a", 9090, (b3.Ip, ApiModels.Ready)));
        await Until(async () => await AllGreetings(5) is ["b3"], "connections to follow the slice to b3:9090");
        Assert.Contains(Flows(), f => f.Backend == b3.Ip && f.BackendPort == 9090);

        // Deleted: the VIP answers no more.
        Api.Delete(ApiResources.Services, "shop", "web");
        await Until(async () => !await Connects(), "the deleted service's VIP to stop answering");
        Assert.DoesNotContain(Node.CtlJson("services").EnumerateArray(), s => s.GetProperty("service").GetString() == "shop/web");
        Api.Delete(ApiResources.EndpointSlices, "shop", "web-a");
    }

    [RootFact]
    public async Task The_node_keeps_forwarding_while_the_api_server_is_away_and_catches_up_when_it_is_back()
    {
        PodInfo b1 = Node.Pod("b1");
        Api.Upsert(ApiModels.Service("away", "kept", "10.96.5.20"));
        Api.Upsert(ApiModels.Slice("away", "kept", "kept-a", 8080, (b1.Ip, ApiModels.Ready)));
        await Until(async () => await Greeting("10.96.5.20") == "b1", "the service to work before the API goes away");

        await Api.StopAsync();
        try
        {
            Poll.Until(() => Informers().Any(static i => i.TryGetProperty("disconnectedSince", out JsonElement since) && since.ValueKind == JsonValueKind.String),
                s_timeout, "ctl status to say the API server is unreachable");
            Assert.Equal("b1", await Greeting("10.96.5.20"));
            Assert.Matches(@"(?m)^dataplane_api_connected\{resource=""services""\} 0$", Node.Ctl("metrics").StdOut);

            // Written while the node cannot hear it.
            Api.Upsert(ApiModels.Service("away", "added", "10.96.5.21"));
            Api.Upsert(ApiModels.Slice("away", "added", "added-a", 8080, (b1.Ip, ApiModels.Ready)));
            Api.Delete(ApiResources.Services, "away", "kept");
        }
        finally
        {
            await Api.StartAgainAsync();
        }

        await Until(async () => await Greeting("10.96.5.21") == "b1", "the service added while the API was away to work once it is back");
        Assert.Matches(@"(?m)^dataplane_api_events_total\{resource=""endpointslices""\} [1-9]", Node.Ctl("metrics").StdOut);
        await Until(async () => !await Connects("10.96.5.20"), "the service deleted while the API was away to go");
        Assert.Equal("b1", await Greeting("10.96.5.21"));
        Api.Delete(ApiResources.Services, "away", "added");
    }

    [RootFact]
    public void Node_yaml_services_and_ctl_service_apply_are_refused_while_following_the_api()
    {
        ProcessResult delete = Node.Ctl("service", "delete", "shop/web");
        Assert.NotEqual(0, delete.ExitCode);
        Assert.Contains("services follow http://127.0.0.1:", delete.StdErr + delete.StdOut, StringComparison.Ordinal);
        JsonElement status = Node.CtlJson("status");
        Assert.True(status.GetProperty("cluster").GetProperty("sync").GetProperty("ready").GetBoolean(), $"status: {status}");
    }

    private async Task<string?> Greeting(string vip = Vip)
    {
        try
        {
            using Socket socket = await PodServers.ConnectAsync(Node, "c", vip, 80, TimeSpan.FromSeconds(2));
            string line = await PodServers.ReadLineAsync(socket, TimeSpan.FromSeconds(2));
            return line.Split(' ')[0];
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    private async Task<bool> Connects(string vip = Vip) => await Greeting(vip) is not null;

    /// <summary>The distinct backends <paramref name="count"/> new connections reached, sorted.</summary>
    private async Task<string[]> AllGreetings(int count)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            seen.Add(await Greeting() ?? "(none)");
        }

        return [.. seen];
    }

    private async Task<Socket> ConnectTo(string backend)
    {
        for (int attempt = 0; attempt < 60; attempt++)
        {
            Socket socket = await PodServers.ConnectAsync(Node, "c", Vip, 80, s_timeout);
            string line = await PodServers.ReadLineAsync(socket, s_timeout);
            if (line.StartsWith(backend + " ", StringComparison.Ordinal))
            {
                return socket;
            }

            socket.Dispose();
        }

        throw new InvalidOperationException($"60 connections to {Vip} and none reached {backend}");
    }

    /// <summary>Sends one datagram per source port from c to the VIP's port 80 until conntrack has one balanced to <paramref name="backend"/>.</summary>
    private int SendUdpUntilFlowTo(string backend)
    {
        for (int port = 41000; port < 41060; port++)
        {
            using Socket udp = Node.Socket("c", SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, port));
            udp.SendTo([1, 2, 3], new System.Net.IPEndPoint(System.Net.IPAddress.Parse(Vip), 80));
            int sent = port;
            if (Eventually(() => Flows().Any(f => f.SourcePort == sent && f.Protocol.Equals("udp", StringComparison.OrdinalIgnoreCase)), TimeSpan.FromSeconds(2))
                && Flows().Any(f => f.SourcePort == sent && f.Backend == backend))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"60 UDP flows and none balanced to {backend}");
    }

    /// <summary>Whether <paramref name="condition"/> holds within <paramref name="timeout"/> (polled; false rather than a failure when not).</summary>
    private static bool Eventually(Func<bool> condition, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            Thread.Sleep(20);
        }

        return true;
    }

    private sealed record Flow(string Protocol, int SourcePort, string? Backend, int BackendPort);

    private List<Flow> Flows()
    {
        var flows = new List<Flow>();
        foreach (JsonElement f in Node.CtlJson("conntrack", "--ip", Vip).GetProperty("flows").EnumerateArray())
        {
            flows.Add(new Flow(
                f.GetProperty("protocol").GetString()!,
                f.GetProperty("sourcePort").GetInt32(),
                f.TryGetProperty("backend", out JsonElement backend) ? backend.GetString() : null,
                f.TryGetProperty("backendPort", out JsonElement port) && port.ValueKind == JsonValueKind.Number ? port.GetInt32() : 0));
        }

        return flows;
    }

    private JsonElement[] Informers() => [.. Node.CtlJson("status").GetProperty("cluster").GetProperty("informers").EnumerateArray()];

    private void AssertServiceShown(string key)
        => Assert.Contains(Node.CtlJson("services").EnumerateArray(), s => s.GetProperty("service").GetString() == key);

    private async Task Until(Func<Task<bool>> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + s_timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {s_timeout.TotalSeconds} s waiting for {what}{Environment.NewLine}{Node.DaemonOutput()}");
            }

            await Task.Delay(50);
        }
    }
}
