using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Dataplane.Tests.Infrastructure;
using System.Runtime.Versioning;

namespace Dataplane.Tests.EndToEnd;

/// <summary>Starting, stopping and reloading the daemon; each test has a node of its own.</summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class DaemonLifecycleTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private const string WebService = """
          - name: web
            clusterIP: 10.96.3.10
            ports: [ { name: http, protocol: TCP, port: 80, targetPort: 8080 } ]
            endpoints: [ { ip: 10.244.1.12 } ]

        """;

    [RootFact]
    public void Sigterm_leaves_every_pod_its_eth0_and_cleanup_then_removes_what_the_daemon_made_but_keeps_a_preexisting_namespace()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions
        {
            Pods = ["a", "b"],
            PreexistingNamespaces = new HashSet<string> { "b" },
        });
        PodInfo a = node.Pod("a"), b = node.Pod("b");
        Ping(node, "a", b.Ip);

        int exitCode = node.Stop();

        Assert.True(exitCode == 0, $"exit code {exitCode}{Environment.NewLine}{node.DaemonOutput()}");
        // A stop is not a removal: the pods keep their eth0 (with its address) for the next start.
        Assert.Contains(a.Netns, TestNamespaces.ListNamespaces());
        Assert.Contains("eth0", TestNamespaces.LinkNames(a.Netns));
        Assert.Contains("eth0", TestNamespaces.LinkNames(b.Netns));
        Assert.Contains(a.Ip, TestNamespaces.Exec(a.Netns, "ip", "-4", "addr", "show", "eth0").StdOut, StringComparison.Ordinal);
        Assert.False(File.Exists(node.SocketPath), "the control socket is still there");
        Assert.False(File.Exists(node.SocketPath + ".lock"), "the instance lock file is still there");
        Assert.Contains("stopped", node.Log, StringComparison.Ordinal);

        ProcessResult cleanup = node.Cleanup();

        Assert.True(cleanup.ExitCode == 0, $"cleanup: {cleanup.StdErr}{cleanup.StdOut}");
        IReadOnlyList<string> namespaces = TestNamespaces.ListNamespaces();
        Assert.DoesNotContain(a.Netns, namespaces);
        Assert.Contains(b.Netns, namespaces);
        Assert.DoesNotContain("eth0", TestNamespaces.LinkNames(b.Netns));
        Assert.False(Directory.Exists(node.StateDirectory), $"the state directory is still there: {cleanup.StdOut}");
        Assert.Contains($"node {node.NodeName}: clean", cleanup.StdOut, StringComparison.Ordinal);
    }

    [RootFact]
    public void After_a_kill_the_record_still_says_what_is_ours_and_cleanup_keeps_a_namespace_with_a_process_inside()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "b"] });
        PodInfo a = node.Pod("a"), b = node.Pod("b");
        using var resident = new BackgroundProcess("ip", "netns", "exec", b.Netns, "sleep", "600");
        Poll.Until(() => TestNamespaces.Ip("netns", "pids", b.Netns).StdOut.Trim().Length > 0, s_timeout, "the resident process to enter b's namespace");

        ProcessResult running = node.Cleanup();
        Assert.True(running.ExitCode == 1 && running.StdErr.Contains("is running", StringComparison.Ordinal),
            $"cleanup while the daemon runs must refuse: {running.ExitCode} {running.StdErr}{running.StdOut}");
        Assert.Contains("eth0", TestNamespaces.LinkNames(a.Netns));

        node.Signal("KILL");
        Poll.Until(() => node.HasExited, s_timeout, "the daemon to die");

        ProcessResult cleanup = node.Cleanup();

        Assert.True(cleanup.ExitCode == 0, $"cleanup: {cleanup.StdErr}{cleanup.StdOut}");
        IReadOnlyList<string> namespaces = TestNamespaces.ListNamespaces();
        Assert.DoesNotContain(a.Netns, namespaces);
        Assert.Contains(b.Netns, namespaces);
        Assert.DoesNotContain("eth0", TestNamespaces.LinkNames(b.Netns));
        Assert.Contains($"namespace /var/run/netns/{b.Netns} (pod b): kept, process(es)", cleanup.StdOut, StringComparison.Ordinal);
    }

    [RootFact]
    public void A_sigterm_during_start_up_leaves_nothing_the_record_does_not_list()
    {
        // Twelve pods take long enough to make that the stop lands while they are being made.
        string[] pods = [.. Enumerable.Range(0, 12).Select(static i => $"p{i}")];
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = pods, WaitUntilServing = false });
        string record = Path.Combine(node.StateDirectory, "owned.json");
        Poll.Until(() => File.Exists(record) || node.HasExited, s_timeout, "the daemon to record the first thing it makes");
        node.Signal("TERM");
        Poll.Until(() => node.HasExited, s_timeout, "the daemon to stop");

        int exitCode = node.Stop(); // exited already: no second signal, just its exit code
        ProcessResult cleanup = node.Cleanup();

        Assert.True(exitCode == 0, $"exit code {exitCode}{Environment.NewLine}{node.DaemonOutput()}");
        Assert.True(cleanup.ExitCode == 0, $"cleanup: {cleanup.StdErr}{cleanup.StdOut}");
        // Whatever the start made before the stop, the record listed it, so cleanup took all of it away.
        IReadOnlyList<string> left = TestNamespaces.ListNamespaces();
        Assert.All(node.Pods, p => Assert.DoesNotContain(p.Netns, left));
        Assert.False(File.Exists(node.SocketPath + ".lock"), "the instance lock file is still there");
    }

    [RootFact]
    public void Starting_a_second_daemon_for_the_same_node_fails_with_a_clear_error_and_leaves_the_first_running()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "b"] });

        ProcessResult second = ProcessRunner.Run(s_timeout, NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "run", "--config", node.ConfigPath, "--netns", node.Namespace);

        Assert.Equal(1, second.ExitCode);
        Assert.Contains("already running", second.StdErr, StringComparison.Ordinal);
        Assert.False(node.HasExited, $"the first daemon exited{Environment.NewLine}{node.DaemonOutput()}");
        Assert.Equal(0, node.Ctl("status").ExitCode);
        Ping(node, "a", node.Pod("b").Ip);
    }

    [RootFact]
    public void Sighup_rereads_services_from_the_config_file()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "b"], Services = WebService });
        Assert.DoesNotContain("default/added", ServiceNames(node));

        node.WriteConfig(WebService + """
              - name: added
                clusterIP: 10.96.3.20
                ports: [ { name: dns, protocol: UDP, port: 53, targetPort: 5353 } ]
                endpoints: [ { ip: 10.244.1.11 } ]

            """);
        node.Signal("HUP");

        Poll.Until(() => ServiceNames(node).Contains("default/added"), s_timeout, "ctl services to list the service added to the config");
        Assert.Contains("default/web", ServiceNames(node));
        Assert.False(node.HasExited, $"the daemon exited on SIGHUP{Environment.NewLine}{node.DaemonOutput()}");
    }

    [RootFact]
    public async Task With_offloads_off_tcp_through_a_vip_and_pod_to_pod_carries_a_payload_intact()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "b"], Services = WebService, Offloads = false });
        Assert.False(node.CtlJson("status").GetProperty("offloads").GetBoolean());
        byte[] payload = RandomNumberGenerator.GetBytes(4 << 20);
        foreach ((string ip, int port) in ((string, int)[])[("10.96.3.10", 80), (node.Pod("b").Ip, 8080)])
        {
            using Socket listener = PodServers.Listen(node, "b", 8080);
            Task<HashSink.Received> receiving = HashSink.ReceiveOneAsync(listener, s_timeout);
            using Socket client = await PodServers.ConnectAsync(node, "a", ip, port, s_timeout);
            await HashSink.SendAllAsync(client, payload, s_timeout);
            HashSink.Received received = await receiving;

            Assert.Equal(Convert.ToHexString(SHA256.HashData(payload)), Convert.ToHexString(received.Sha256));
            Assert.Equal(IPAddress.Parse(node.Pod("a").Ip), ((IPEndPoint)received.Peer!).Address);
        }
    }

    [RootTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task With_io_uring_ping_across_the_uplink_and_tcp_through_a_vip_and_pod_to_pod_carry_a_payload_intact(bool offloads)
    {
        Assert.True(Dataplane.Io.Uring.UringLibrary.IsAvailable, $"the io_uring shim is not next to the tests: {Dataplane.Io.Uring.UringLibrary.Problem}");
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "b"], Services = WebService, Offloads = offloads, Uplink = true, Io = "uring" });
        Ping(node, "a", node.Pod("b").Ip);
        Ping(node, "a", NodeUnderTest.RemotePodIp);
        Assert.True(node.CtlJson("status").GetProperty("io").GetString() == "uring", node.DaemonOutput());
        Assert.Contains("io_uring", node.Log, StringComparison.Ordinal);
        await SendHashedPayloads(node);
        Assert.Equal("uring", node.CtlJson("status").GetProperty("io").GetString());
    }

    [RootFact]
    public async Task With_io_uring_but_no_shim_the_daemon_says_so_and_forwards_with_read_write()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions
        {
            Pods = ["a", "b"],
            Services = WebService,
            Io = "uring",
            Environment = new Dictionary<string, string> { [Dataplane.Io.Uring.UringLibrary.PathVariable] = "/nonexistent/libdpuring.so" },
        });
        Assert.Equal("syscalls", node.CtlJson("status").GetProperty("io").GetString());
        Assert.Contains("uring is unavailable", node.Log, StringComparison.Ordinal);
        Ping(node, "a", node.Pod("b").Ip);
        await SendHashedPayloads(node);
    }

    [RootFact]
    public async Task With_two_workers_a_flow_whose_directions_land_on_different_workers_is_tracked_and_natted_consistently()
    {
        // Pods are dealt to workers in port order: a on worker 0, b on worker 1. The client's packets are
        // DNATed by worker 0, the backend's replies un-NATed by worker 1, through the one shared conntrack.
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "b"], Services = WebService, Workers = 2 });
        Assert.Equal(2, node.CtlJson("status").GetProperty("workers").GetInt32());
        Ping(node, "a", node.Pod("b").Ip);
        await SendHashedPayloads(node);

        JsonElement flows = node.CtlJson("conntrack", "--port", "80").GetProperty("flows");
        Assert.Contains(flows.EnumerateArray(), f => f.GetProperty("backend").GetString() == node.Pod("b").Ip && f.GetProperty("seenReply").GetBoolean());
    }

    /// <summary>4 MiB from pod a to pod b through the VIP and then directly; b must receive it byte for byte, from a's address.</summary>
    private static async Task SendHashedPayloads(NodeUnderTest node)
    {
        byte[] payload = RandomNumberGenerator.GetBytes(4 << 20);
        foreach ((string ip, int port) in ((string, int)[])[("10.96.3.10", 80), (node.Pod("b").Ip, 8080)])
        {
            using Socket listener = PodServers.Listen(node, "b", 8080);
            Task<HashSink.Received> receiving = HashSink.ReceiveOneAsync(listener, s_timeout);
            using Socket client = await PodServers.ConnectAsync(node, "a", ip, port, s_timeout);
            await HashSink.SendAllAsync(client, payload, s_timeout);
            HashSink.Received received = await receiving;

            Assert.Equal(Convert.ToHexString(SHA256.HashData(payload)), Convert.ToHexString(received.Sha256));
            Assert.Equal(IPAddress.Parse(node.Pod("a").Ip), ((IPEndPoint)received.Peer!).Address);
        }
    }

    private static void Ping(NodeUnderTest node, string from, string to)
    {
        ProcessResult ping = node.ExecInPod(from, "ping", "-c", "3", "-i", "0.2", "-W", "2", to);
        Assert.True(ping.ExitCode == 0, $"{from} -> {to}: {ping.StdOut}{ping.StdErr}{Environment.NewLine}{node.DaemonOutput()}");
    }

    private static List<string> ServiceNames(NodeUnderTest node) =>
        [.. node.CtlJson("services").EnumerateArray().Select(s => s.GetProperty("service").GetString()!)];
}
