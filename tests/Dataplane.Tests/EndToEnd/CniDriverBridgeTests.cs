using Dataplane.CniDriver;
using System.Text.Json;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// The libcni driver (tests/cni-driver) against Debian's bridge + host-local plugins, inside a test node namespace:
/// what the driver reports must match what the kernel and host-local show, so the same driver can be trusted when it
/// drives dataplane-cni (<see cref="CniRuntimeTests"/>).
/// </summary>
[Trait("Category", "e2e")]
public sealed class CniDriverBridgeTests
{
    /// <summary>A sysctl that defaults to 0 in a new namespace and that tuning may set (net.* only).</summary>
    public const string TunedSysctl = "net.ipv4.conf.eth0.arp_filter";

    [RootFact]
    public void Add_check_and_del_of_one_namespace_match_what_the_kernel_and_host_local_show()
    {
        using var node = new BridgeCniNode();
        string pod = node.NewPodNamespace();

        JsonElement result = node.Network.Add(pod, "c1");

        string ip = Assert.Single(CniConfigs.ResultAddresses(result));
        Assert.True(CniConfigs.InSubnet(ip, BridgeCniNode.Subnet), $"{ip} is not in {BridgeCniNode.Subnet}: {result}");
        Assert.Equal(BridgeCniNode.Gateway, result.GetProperty("ips")[0].GetProperty("gateway").GetString());
        Assert.Contains(result.GetProperty("interfaces").EnumerateArray(),
            i => i.GetProperty("name").GetString() == "eth0" && i.TryGetProperty("sandbox", out JsonElement s) && s.GetString() == $"/var/run/netns/{pod}");
        Assert.Contains(ip, PodAddresses(pod));
        Assert.Contains(BridgeCniNode.BridgeName, TestNamespaces.LinkNames(node.Namespace));
        Assert.False(TestNamespaces.HostLinkExists(BridgeCniNode.BridgeName), "the bridge plugin ran in the host namespace");
        TestNamespaces.Exec(pod, "ping", "-c", "1", "-W", "2", BridgeCniNode.Gateway).EnsureSuccess();
        Assert.Equal([ip], node.Leases);
        Assert.Single(CachedResults(node));

        ProcessResult check = node.Network.Check(pod, "c1");
        Assert.True(check.ExitCode == 0, $"CHECK of a healthy attachment failed: {check.StdErr}");

        // CHECK compares the namespace with the cached result: an address gone from eth0 must fail it.
        TestNamespaces.Ip("-n", pod, "addr", "del", $"{ip}/24", "dev", "eth0").EnsureSuccess();
        Assert.NotEqual(0, node.Network.Check(pod, "c1").ExitCode);

        node.Network.Del(pod, "c1").EnsureSuccess();

        Assert.DoesNotContain("eth0", TestNamespaces.LinkNames(pod));
        Assert.Empty(node.Leases);
        Assert.Empty(CachedResults(node));
        Assert.Equal([BridgeCniNode.BridgeName, "lo"], TestNamespaces.LinkNames(node.Namespace).Order(StringComparer.Ordinal));
        ProcessResult again = node.Network.Del(pod, "c1");
        Assert.True(again.ExitCode == 0, $"a second DEL must succeed (DEL is idempotent): {again.StdErr}");
    }

    [RootFact]
    public void Twenty_parallel_adds_get_twenty_distinct_addresses_that_reach_the_gateway()
    {
        using var node = new BridgeCniNode();
        string prefix = node.NewPrefix("p");

        BenchReport bench = node.Network.Bench(new CniBenchOptions { NetnsPrefix = prefix, Count = 20, Parallel = 20, ReadyPing = true });

        Assert.True(bench.ExitCode == 0 && bench.Errors.Count == 0, bench.Summary());
        Assert.Equal(20, bench.Add.Ok);
        Assert.Equal(20, bench.Ips.Distinct().Count());
        Assert.All(bench.Ips, ip => Assert.True(CniConfigs.InSubnet(ip, BridgeCniNode.Subnet), ip));
        Assert.Equal(20, bench.Ready!.Ok);
        Assert.True(bench.Ready.AllMs >= bench.Add.MaxMs, bench.Summary());
        Assert.Equal(20, bench.Del.Ok);
        Assert.True(bench.Add.P50Ms > 0 && bench.Add.P50Ms <= bench.Add.P90Ms && bench.Add.P90Ms <= bench.Add.MaxMs, bench.Summary());
        Assert.Empty(node.Leases);
        Assert.Empty(NamespacePrefix.Existing(prefix));
        Assert.Equal([BridgeCniNode.BridgeName, "lo"], TestNamespaces.LinkNames(node.Namespace).Order(StringComparer.Ordinal));
    }

    [RootFact]
    public void Del_releases_every_address_host_local_handed_out()
    {
        using var node = new BridgeCniNode();
        string[] pods = [.. Enumerable.Range(0, 5).Select(_ => node.NewPodNamespace())];
        var given = new List<string>();
        foreach ((string pod, int i) in pods.Select((p, i) => (p, i)))
        {
            given.Add(Assert.Single(CniConfigs.ResultAddresses(node.Network.Add(pod, $"c{i}"))));
        }

        Assert.Equal(given.Order(StringComparer.Ordinal), node.Leases);
        Assert.Equal(5, TestNamespaces.LinkNames(node.Namespace).Count(l => l.StartsWith("veth", StringComparison.Ordinal)));

        foreach ((string pod, int i) in pods.Select((p, i) => (p, i)))
        {
            node.Network.Del(pod, $"c{i}").EnsureSuccess();
            Assert.Equal(given.Skip(i + 1).Order(StringComparer.Ordinal), node.Leases);
        }

        Assert.Empty(CachedResults(node));
        Assert.DoesNotContain(TestNamespaces.LinkNames(node.Namespace), l => l.StartsWith("veth", StringComparison.Ordinal));
    }

    [RootFact]
    public void The_bench_watch_counts_echoes_without_reply_as_lost()
    {
        using var node = new BridgeCniNode();
        string watcher = node.NewPodNamespace();
        string peer = node.NewPodNamespace();
        node.Network.Add(watcher, "watcher");
        string peerIp = Assert.Single(CniConfigs.ResultAddresses(node.Network.Add(peer, "peer")));

        BenchReport reachable = node.Network.Bench(new CniBenchOptions { NetnsPrefix = node.NewPrefix("r"), Count = 5, WatchNetns = watcher, WatchIp = peerIp });
        // An address in the pod subnet that nobody holds: ARP goes unanswered on the bridge, so no echo comes back.
        BenchReport unreachable = node.Network.Bench(new CniBenchOptions { NetnsPrefix = node.NewPrefix("u"), Count = 5, WatchNetns = watcher, WatchIp = "10.244.1.250" });

        Assert.True(reachable.ExitCode == 0, reachable.Summary());
        Assert.True(reachable.Watch!.Sent > 3, reachable.Summary());
        Assert.Equal(0, reachable.Watch.Lost);
        Assert.True(unreachable.Watch!.Sent > 3, unreachable.Summary());
        Assert.Equal(unreachable.Watch.Sent, unreachable.Watch.Lost);
        node.Network.Del(watcher, "watcher").EnsureSuccess();
        node.Network.Del(peer, "peer").EnsureSuccess();
        Assert.Empty(node.Leases);
    }

    [RootFact]
    public void A_chained_tuning_plugin_gets_the_bridge_result_and_sets_its_sysctl_in_the_pod()
    {
        using var node = new BridgeCniNode();
        string conflist = CniConfigs.Write(Path.Combine(node.Directory, "tuned.conflist"), "dpt-tuned",
            CniConfigs.Bridge(BridgeCniNode.BridgeName, CniConfigs.HostLocal(BridgeCniNode.Subnet, BridgeCniNode.Gateway, node.IpamDirectory)),
            CniConfigs.Tuning(new Dictionary<string, string> { [TunedSysctl] = "1" }));
        var network = new CniNetwork(conflist, [CniConfigs.DebianPluginDirectory], node.Network.CacheDirectory, node.Namespace);
        string pod = node.NewPodNamespace();
        Assert.Equal("0", Sysctl(pod, "net.ipv4.conf.default.arp_filter"));

        JsonElement result = network.Add(pod, "tuned");

        Assert.Single(CniConfigs.ResultAddresses(result));
        Assert.Equal("1", Sysctl(pod, TunedSysctl));
        ProcessResult check = network.Check(pod, "tuned");
        Assert.True(check.ExitCode == 0, $"CHECK through bridge and tuning failed: {check.StdErr}");
        TestNamespaces.Exec(pod, "ping", "-c", "1", "-W", "2", BridgeCniNode.Gateway).EnsureSuccess();
        network.Del(pod, "tuned").EnsureSuccess();
        Assert.Empty(HostLocalLeases.Reserved(node.IpamDirectory, "dpt-tuned"));
    }

    public static string Sysctl(string netns, string key) => TestNamespaces.Exec(netns, "sysctl", "-n", key).EnsureSuccess().StdOut.Trim();

    /// <summary>The IPv4 addresses on eth0 inside a namespace.</summary>
    public static IReadOnlyList<string> PodAddresses(string netns) =>
        [.. TestNamespaces.IpJson("-n", netns, "-4", "addr", "show", "dev", "eth0").EnumerateArray()
            .SelectMany(l => l.GetProperty("addr_info").EnumerateArray()).Select(a => a.GetProperty("local").GetString()!)];

    private static string[] CachedResults(BridgeCniNode node)
    {
        string results = Path.Combine(node.Network.CacheDirectory, "results");
        return Directory.Exists(results) ? Directory.GetFiles(results) : [];
    }
}
