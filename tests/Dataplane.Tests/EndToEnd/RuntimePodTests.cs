using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// Pods added and removed with `dataplane ctl pod` while the daemon forwards for others: the new pod reaches the
/// others at once, the running pods lose nothing meanwhile, and removal leaves no TAP and no namespace the daemon
/// made. Namespaces are given by name, by path (/var/run/netns/…) and as /proc/PID/ns/net, as CNI passes them.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class RuntimePodTests : IClassFixture<RuntimePodTests.Node>, IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly NodeUnderTest _node;
    private readonly TestNamespaces _namespaces = new();

    public RuntimePodTests(Node fixture) => _node = fixture.Value;

    public sealed class Node : IDisposable
    {
        public NodeUnderTest Value { get; } = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "b"] });

        public void Dispose() => Value.Dispose();
    }

    public void Dispose() => _namespaces.Dispose();

    [RootFact]
    public async Task A_pod_added_while_others_ping_reaches_them_and_goes_cleanly_and_the_others_lose_no_ping()
    {
        PodInfo a = _node.Pod("a"), b = _node.Pod("b");
        string netns = _namespaces.NewName();
        // 200 pings at 20 ms from a to b across the add and the removal: none may be lost.
        Task<ProcessResult> steady = _node.ExecInPodAsync("a", TimeSpan.FromSeconds(60), "ping", "-c", "200", "-i", "0.02", "-W", "1", b.Ip);

        JsonElement added = _node.CtlJson("pod", "add", "late", "--netns", netns, "--ip", "10.244.1.50/24");
        Assert.Equal("late", added.GetProperty("name").GetString());
        Assert.Equal("runtime", added.GetProperty("source").GetString());
        Assert.Equal("0a:58:0a:f4:01:32", added.GetProperty("mac").GetString());

        ProcessResult reach = await TestNamespaces.ExecAsync(netns, s_timeout, "ping", "-c", "3", "-i", "0.2", "-W", "2", a.Ip);
        Assert.True(reach.ExitCode == 0, $"late -> a: {reach.StdOut}{reach.StdErr}{Environment.NewLine}{_node.DaemonOutput()}");
        JsonElement listed = _node.CtlJson("pod", "list");
        Assert.Contains(listed.EnumerateArray(), p => p.GetProperty("name").GetString() == "late" && p.GetProperty("ips")[0].GetProperty("address").GetString() == "10.244.1.50/24");

        JsonElement removed = _node.CtlJson("pod", "del", "late");
        Assert.True(removed.GetProperty("removed").GetBoolean());
        Assert.False(NamespaceExists(netns), $"the namespace the daemon made for late is still there");
        Assert.DoesNotContain(_node.CtlJson("pod", "list").EnumerateArray(), p => p.GetProperty("name").GetString() == "late");
        ProcessResult gone = await _node.ExecInPodAsync("a", s_timeout, "ping", "-c", "1", "-W", "1", "10.244.1.50");
        Assert.NotEqual(0, gone.ExitCode);

        ProcessResult steadyResult = await steady;
        Assert.True(steadyResult.ExitCode == 0 && steadyResult.StdOut.Contains("200 received", StringComparison.Ordinal),
            $"a -> b lost pings while a pod came and went: {steadyResult.StdOut}{steadyResult.StdErr}");
    }

    [RootFact]
    public async Task A_namespace_given_by_path_or_as_a_processes_namespace_is_used_and_kept_and_the_interface_gets_the_name_asked_for()
    {
        PodInfo b = _node.Pod("b");
        string named = _namespaces.Add();
        using var holder = new BackgroundProcess("ip", "netns", "exec", _namespaces.Add(), "sh", "-c", "echo $$; exec sleep 600");
        string byProcess = $"/proc/{await ChildPid(holder)}/ns/net";

        _node.CtlJson("pod", "add", "by-path", "--netns", $"/var/run/netns/{named}", "--ip", "10.244.1.51/24", "--ifname", "net1", "--mtu", "1400");
        _node.CtlJson("pod", "add", "by-pid", "--netns", byProcess, "--ip", "10.244.1.52/24");
        try
        {
            JsonElement link = TestNamespaces.IpJson("-n", named, "link", "show", "net1")[0];
            Assert.Equal(1400, link.GetProperty("mtu").GetInt32());
            ProcessResult reach = await TestNamespaces.ExecAsync(named, s_timeout, "ping", "-c", "2", "-i", "0.2", "-W", "2", b.Ip);
            Assert.True(reach.ExitCode == 0, $"by-path -> b: {reach.StdOut}{reach.StdErr}");
            ProcessResult fromPid = ProcessRunner.Run(s_timeout, "nsenter", $"--net={byProcess}", "ping", "-c", "2", "-i", "0.2", "-W", "2", "10.244.1.51");
            Assert.True(fromPid.ExitCode == 0, $"by-pid -> by-path: {fromPid.StdOut}{fromPid.StdErr}");
        }
        finally
        {
            _node.CtlJson("pod", "del", "by-path");
            _node.CtlJson("pod", "del", "by-pid");
        }

        Assert.True(NamespaceExists(named), "a namespace the daemon did not make must outlive the pod");
        Assert.Equal(0, TestNamespaces.IpJson("-n", named, "link", "show").EnumerateArray().Count(l => l.GetProperty("ifname").GetString() == "net1"));
    }

    [RootFact]
    public async Task A_pod_whose_kernel_makes_a_random_link_local_address_is_not_dropped_by_the_source_guard()
    {
        string netns = _namespaces.Add();
        // addr_gen_mode 3 (random, RFC 7217 with a random secret): the link-local is not derived from the MAC.
        TestNamespaces.Exec(netns, "sysctl", "-qw", "net.ipv6.conf.default.addr_gen_mode=3").EnsureSuccess();
        JsonElement added = _node.CtlJson("pod", "add", "private", "--netns", netns, "--ip", "10.244.1.53/24");
        try
        {
            string linkLocal = added.GetProperty("linkLocal")[0].GetString()!;
            Assert.StartsWith("fe80::", linkLocal, StringComparison.Ordinal);
            Assert.NotEqual("fe80::858:aff:fef4:135", linkLocal); // what EUI-64 would give 0a:58:0a:f4:01:35
            long spoofedBefore = _node.Counter("source-guard", "spoofed-ip6");
            // Until duplicate address detection is done (about a second) the kernel will not send from it.
            Poll.Until(() => !TestNamespaces.Exec(netns, "ip", "-6", "addr", "show", "dev", "eth0").StdOut.Contains("tentative", StringComparison.Ordinal),
                s_timeout, $"{linkLocal} to finish duplicate address detection");

            // Echo to all nodes on the link from that address: the other pods answer only if the request got through.
            ProcessResult ping = await TestNamespaces.ExecAsync(netns, s_timeout, "ping", "-6", "-c", "2", "-i", "0.3", "-W", "2", "-I", "eth0", "ff02::1");
            Assert.True(ping.ExitCode == 0, $"ping ff02::1 from {linkLocal}: {ping.StdOut}{ping.StdErr}");
            Assert.Equal(spoofedBefore, _node.Counter("source-guard", "spoofed-ip6"));
        }
        finally
        {
            _node.CtlJson("pod", "del", "private");
        }
    }

    [RootFact]
    public void A_pod_that_cannot_be_added_is_refused_with_the_reason_and_leaves_no_namespace_or_tap()
    {
        string netns = _namespaces.NewName();
        int linksBefore = TestNamespaces.IpJson("-n", _node.Namespace, "link", "show").GetArrayLength();

        ProcessResult outside = _node.Ctl("pod", "add", "stray", "--netns", netns, "--ip", "10.99.0.5/24");
        Assert.Equal(1, outside.ExitCode);
        Assert.Contains("outside the node's pod CIDR", outside.StdErr, StringComparison.Ordinal);

        ProcessResult taken = _node.Ctl("pod", "add", "twin", "--netns", netns, "--ip", $"{_node.Pod("a").Ip}/24");
        Assert.Equal(1, taken.ExitCode);
        Assert.Contains("has that address already", taken.StdErr, StringComparison.Ordinal);

        ProcessResult missing = _node.Ctl("pod", "del", "never-was");
        Assert.Equal(0, missing.ExitCode);
        Assert.Contains("nothing to remove", missing.StdOut, StringComparison.Ordinal);

        Assert.False(NamespaceExists(netns));
        Assert.Equal(linksBefore, TestNamespaces.IpJson("-n", _node.Namespace, "link", "show").GetArrayLength());
    }

    private static bool NamespaceExists(string name) => File.Exists(Path.Combine("/var/run/netns", name));

    /// <summary>The pid the holder's shell printed before it exec'd sleep (the same process then).</summary>
    private static async Task<int> ChildPid(BackgroundProcess holder)
    {
        int pid = 0;
        await Task.Run(() => Poll.Until(() => int.TryParse(holder.StdOut.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out pid)
            && File.Exists($"/proc/{pid}/comm") && File.ReadAllText($"/proc/{pid}/comm").Trim() == "sleep", s_timeout, $"`{holder.Command}` to run sleep"));
        return pid;
    }
}

/// <summary>
/// The same on <c>io: uring</c>, with two workers: the new pod's read is armed on its worker's ring, and on removal
/// cancelled, without which the ring would keep the TAP alive after its fd closed.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class RuntimePodUringTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly TestNamespaces _namespaces = new();

    public void Dispose() => _namespaces.Dispose();

    [RootFact]
    public async Task On_io_uring_a_pod_added_at_run_time_forwards_and_its_tap_is_gone_once_removed()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "b"], Io = "uring", Workers = 2 });
        string netns = _namespaces.Add();
        for (int round = 0; round < 2; round++)
        {
            // Twice: the second pod gets the first one's port id, and a stale completion of the first must not serve it.
            node.CtlJson("pod", "add", $"late-{round}", "--netns", netns, "--ip", "10.244.1.60/24");
            ProcessResult reach = await TestNamespaces.ExecAsync(netns, s_timeout, "ping", "-c", "3", "-i", "0.2", "-W", "2", node.Pod("a").Ip);
            Assert.True(reach.ExitCode == 0, $"round {round}: late -> a: {reach.StdOut}{reach.StdErr}{Environment.NewLine}{node.DaemonOutput()}");
            node.CtlJson("pod", "del", $"late-{round}");
            Poll.Until(() => TestNamespaces.IpJson("-n", netns, "link", "show").EnumerateArray().All(l => l.GetProperty("ifname").GetString() != "eth0"),
                s_timeout, $"round {round}: eth0 to leave {netns} once the pod is removed");
        }

        Assert.Contains("io_uring, ", node.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("could not start", node.Log, StringComparison.Ordinal);
    }
}

/// <summary>Dual-stack pods added at run time: each gets its IPv6 address, a default route via the IPv6 gateway, and reaches the other.</summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class RuntimeDualStackPodTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly TestNamespaces _namespaces = new();

    public void Dispose() => _namespaces.Dispose();

    [RootFact]
    public async Task Two_dual_stack_pods_added_at_run_time_reach_each_other_and_the_gateway_over_ipv6()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a"], Ipv6 = true });
        string first = _namespaces.Add(), second = _namespaces.Add();
        JsonElement added = node.CtlJson("pod", "add", "six-1", "--netns", first, "--ip", "10.244.1.71/24", "--ip6", "fd00:10:244:1::71/64");
        node.CtlJson("pod", "add", "six-2", "--netns", second, "--ip", "10.244.1.72/24", "--ip6", "fd00:10:244:1::72/64");

        Assert.Equal("fd00:10:244:1::71/64", added.GetProperty("ips")[1].GetProperty("address").GetString());
        Assert.Contains(TestNamespaces.IpJson("-n", first, "-6", "route", "show", "default").EnumerateArray(),
            r => r.GetProperty("gateway").GetString() == NodeUnderTest.GatewayIpV6);
        foreach (string target in new[] { NodeUnderTest.GatewayIpV6, "fd00:10:244:1::72" })
        {
            ProcessResult ping = await TestNamespaces.ExecAsync(first, s_timeout, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", target);
            Assert.True(ping.ExitCode == 0, $"six-1 -> {target}: {ping.StdOut}{ping.StdErr}{Environment.NewLine}{node.DaemonOutput()}");
        }

        node.CtlJson("pod", "del", "six-2");
        ProcessResult gone = await TestNamespaces.ExecAsync(first, s_timeout, "ping", "-6", "-c", "1", "-W", "1", "fd00:10:244:1::72");
        Assert.NotEqual(0, gone.ExitCode);
        node.CtlJson("pod", "del", "six-1");
    }
}
