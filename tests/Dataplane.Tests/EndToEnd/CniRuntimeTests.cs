using Dataplane.CniDriver;
using System.Runtime.Versioning;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// Our CNI plugin (`dataplane-cni`, published by <see cref="CniPluginBuild"/>) driven by real runtimes against a
/// running daemon: the libcni driver (as containerd and CRI-O call plugins) and podman. The daemon runs in its own
/// node namespace with two static pods, `a` and `web` (web serves HTTP on 8080 behind the ClusterIP service `web`);
/// the runtimes run where the tests run and reach the daemon only through its control socket, and the daemon makes
/// each runtime pod's TAP in its namespace and moves it into the pod's. Every test that runs the plugin starts with
/// <see cref="CniPluginBuild.Publish"/>: until src/Dataplane.Cni exists they fail, saying so; they need the daemon's
/// pod-add/pod-del/pod-check as well. The first test checks the fixture alone (static pods and the service).
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(PodmanCollection.Name)]
[Trait("Category", "e2e")]
public sealed class CniRuntimeTests : IClassFixture<CniRuntimeTests.Node>
{
    public const string WebVip = "10.96.1.10";
    public const string WebPage = "served by the static pod web\n";
    private const int WebPort = 8080;
    private const string Subnet = NodeUnderTest.PodCidr;
    private const string Gateway = NodeUnderTest.GatewayIp;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private readonly Node _node;

    public CniRuntimeTests(Node node) => _node = node;

    /// <summary>One daemon for the class (tests in a class run one at a time), and where the published plugin is.</summary>
    public sealed class Node : IDisposable
    {
        private readonly BackgroundProcess? _httpd;
        private readonly string? _www;

        public Node()
        {
            Value = NodeUnderTest.Start(new NodeOptions
            {
                Pods = ["a", "web"],
                Services = $$"""
                      - name: web
                        clusterIP: {{WebVip}}
                        ports: [ { name: http, protocol: TCP, port: 80, targetPort: {{WebPort}} } ]
                        endpoints: [ { ip: 10.244.1.12 } ]
                    """,
            });
            try
            {
                _www = Directory.CreateTempSubdirectory(TestNamespaces.Prefix + "www-").FullName;
                File.WriteAllText(Path.Combine(_www, "index.html"), WebPage);
                _httpd = new BackgroundProcess("ip", "netns", "exec", Value.Pod("web").Netns, PodmanHost.Busybox, "httpd", "-f", "-p", WebPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "-h", _www);
                Poll.Until(() => _httpd.HasExited || Value.ExecInPod("web", "ss", "-Hltn", $"sport = :{WebPort}").StdOut.Contains($":{WebPort}", StringComparison.Ordinal),
                    s_timeout, "httpd in pod web to listen");
                Assert.False(_httpd.HasExited, $"httpd exited: {_httpd.StdErr}");
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public NodeUnderTest Value { get; }

        /// <summary>Where libcni and podman look for plugins: ours (published on first use), then Debian's (host-local, tuning).</summary>
        public IReadOnlyList<string> PluginDirectories => [CniPluginBuild.Publish(), CniConfigs.DebianPluginDirectory];

        public void Dispose()
        {
            _httpd?.Dispose();
            try
            {
                Value.Dispose();
            }
            finally
            {
                if (_www is not null)
                {
                    Directory.Delete(_www, recursive: true);
                }
            }
        }
    }

    /// <summary>A CNI network on the node for one test: its own host-local range, leases and libcni cache.</summary>
    private sealed class TestNetwork : IDisposable
    {
        public TestNetwork(Node node, string name, string rangeStart, string rangeEnd, params Func<JsonObject>[] chained)
        {
            Name = name;
            Directory = System.IO.Directory.CreateTempSubdirectory(TestNamespaces.Prefix + "cnirt-").FullName;
            IpamDirectory = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "ipam")).FullName;
            string cache = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "cache")).FullName;
            Ipam = CniConfigs.HostLocal(Subnet, Gateway, IpamDirectory, rangeStart, rangeEnd);
            Plugins = [CniConfigs.Dataplane(node.Value.SocketPath, Ipam), .. chained.Select(f => f())];
            string conflist = CniConfigs.Write(Path.Combine(Directory, name + ".conflist"), name, [.. Plugins]);
            Cni = new CniNetwork(conflist, node.PluginDirectories, cache, driverNamespace: null);
        }

        public string Name { get; }

        public string Directory { get; }

        public string IpamDirectory { get; }

        public JsonObject Ipam { get; }

        public IReadOnlyList<JsonObject> Plugins { get; }

        public CniNetwork Cni { get; }

        public IReadOnlyList<string> Leases => HostLocalLeases.Reserved(IpamDirectory, Name);

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }

    [RootFact]
    public void The_fixture_serves_its_cluster_ip_from_the_static_web_pod()
    {
        // No plugin: what the podman test relies on besides it. Pod a fetches the page through the service's VIP (with
        // curl: busybox-static's wget crashes on the host's NSS modules outside a container).
        ProcessResult web = _node.Value.ExecInPod("a", "curl", "-sS", "-m", "5", $"http://{WebVip}/");

        Assert.True(web.ExitCode == 0, $"a -> {WebVip}:80 exited {web.ExitCode}: {web.StdErr}{Environment.NewLine}{_node.Value.DaemonOutput()}");
        Assert.Equal(WebPage, web.StdOut);
    }

    [RootFact]
    public void Libcni_add_check_and_del_against_the_daemon()
    {
        CniPluginBuild.Publish();
        NodeUnderTest node = _node.Value;
        using var namespaces = new TestNamespaces();
        using var network = new TestNetwork(_node, "dataplane", "10.244.1.20", "10.244.1.29");
        string pod = namespaces.Add();
        IReadOnlyList<string> nodeLinks = TestNamespaces.LinkNames(node.Namespace);

        JsonElement result = network.Cni.Add(pod, "rt-a");
        try
        {
            string ip = Assert.Single(CniConfigs.ResultAddresses(result));
            Assert.True(CniConfigs.InSubnet(ip, "10.244.1.16/28"), $"{ip} is outside host-local's range .20-.29: {result}");
            Assert.Equal(Gateway, result.GetProperty("ips")[0].GetProperty("gateway").GetString());
            Assert.Contains(ip, CniDriverBridgeTests.PodAddresses(pod));
            // The TAP lives in the pod's namespace; the daemon keeps only its fd, so the node namespace gains no link.
            Assert.Equal(nodeLinks.Order(StringComparer.Ordinal), TestNamespaces.LinkNames(node.Namespace).Order(StringComparer.Ordinal));
            Assert.Contains(node.CtlJson("pod", "list").EnumerateArray(), p => p.GetProperty("containerId").ValueKind == JsonValueKind.String
                && p.GetProperty("ips")[0].GetProperty("address").GetString() == $"{ip}/24");
            Assert.Equal([ip], network.Leases);
            TestNamespaces.Exec(pod, "ping", "-c", "1", "-W", "2", Gateway).EnsureSuccess();
            TestNamespaces.Exec(pod, "ping", "-c", "1", "-W", "2", node.Pod("a").Ip).EnsureSuccess();

            ProcessResult check = network.Cni.Check(pod, "rt-a");
            Assert.True(check.ExitCode == 0, $"CHECK of a healthy pod failed: {check.StdErr}{Environment.NewLine}{node.DaemonOutput()}");
            TestNamespaces.Ip("-n", pod, "addr", "flush", "dev", "eth0").EnsureSuccess();
            Assert.NotEqual(0, network.Cni.Check(pod, "rt-a").ExitCode);
        }
        finally
        {
            ProcessResult del = network.Cni.Del(pod, "rt-a");
            Assert.True(del.ExitCode == 0, $"DEL failed: {del.StdErr}{Environment.NewLine}{node.DaemonOutput()}");
        }

        Assert.DoesNotContain("eth0", TestNamespaces.LinkNames(pod));
        Assert.Equal(nodeLinks.Order(StringComparer.Ordinal), TestNamespaces.LinkNames(node.Namespace).Order(StringComparer.Ordinal));
        Assert.Empty(network.Leases);
        ProcessResult again = network.Cni.Del(pod, "rt-a");
        Assert.True(again.ExitCode == 0, $"a second DEL must succeed (DEL is idempotent): {again.StdErr}");
    }

    [RootFact]
    public void A_hundred_parallel_adds_succeed_with_distinct_addresses_while_a_running_pod_loses_no_ping()
    {
        CniPluginBuild.Publish();
        NodeUnderTest node = _node.Value;
        using var network = new TestNetwork(_node, "dataplane", "10.244.1.100", "10.244.1.250");
        string prefix = NamespacePrefix.New("q");
        IReadOnlyList<string> nodeLinks = TestNamespaces.LinkNames(node.Namespace);
        BenchReport bench;
        try
        {
            bench = network.Cni.Bench(new CniBenchOptions
            {
                NetnsPrefix = prefix,
                Count = 100,
                Parallel = 100,
                ReadyPing = true,
                WatchNetns = node.Pod("a").Netns,
                WatchIp = node.Pod("web").Ip,
            });
        }
        finally
        {
            NamespacePrefix.DeleteAll(prefix);
        }

        string context = $"{bench.Summary()}{Environment.NewLine}{node.DaemonOutput()}";
        Assert.True(bench.ExitCode == 0 && bench.Errors.Count == 0, context);
        Assert.Equal(100, bench.Add.Ok);
        Assert.Equal(100, bench.Ips.Distinct().Count());
        Assert.All(bench.Ips, ip => Assert.True(CniConfigs.InSubnet(ip, Subnet), ip));
        Assert.Equal(100, bench.Ready!.Ok);
        Assert.True(bench.Watch!.Sent > 20, $"the running pod sent only {bench.Watch.Sent} echoes: {context}");
        Assert.True(bench.Watch.Lost == 0, $"the running pod lost {bench.Watch.Lost} of {bench.Watch.Sent} echoes during the churn: {context}");
        Assert.Equal(100, bench.Del.Ok);
        Assert.Empty(network.Leases);
        Assert.Equal(nodeLinks.Order(StringComparer.Ordinal), TestNamespaces.LinkNames(node.Namespace).Order(StringComparer.Ordinal));
    }

    [RootFact]
    public void Podman_containers_on_the_dataplane_network_ping_each_other_reach_a_cluster_ip_and_are_removed_cleanly()
    {
        CniPluginBuild.Publish();
        NodeUnderTest node = _node.Value;
        using var network = new TestNetwork(_node, "dataplane", "10.244.1.30", "10.244.1.39");
        IReadOnlyList<string> nodeLinks = TestNamespaces.LinkNames(node.Namespace);
        PodmanContainer c1, c2;
        // The plugin only talks to the daemon's socket and to the pod's namespace: podman runs in the host's.
        using (var podman = new PodmanHost(netns: null, network.Name, _node.PluginDirectories, [.. network.Plugins]))
        {
            try
            {
                c1 = podman.Run("c1", ["sleep", "600"]);
                c2 = podman.Run("c2", ["sleep", "600"]);

                Assert.True(c1.Ip is not null && c2.Ip is not null && c1.Ip != c2.Ip, $"{c1} {c2}");
                Assert.Equal(new[] { c1.Ip!, c2.Ip! }.Order(StringComparer.Ordinal), network.Leases);
                Assert.Equal(2, node.CtlJson("pod", "list").EnumerateArray().Count(p => p.GetProperty("source").GetString() == "runtime"));
                ProcessResult ping = podman.Exec("c1", "ping", "-c", "3", "-W", "2", c2.Ip!);
                Assert.True(ping.ExitCode == 0, $"c1 -> c2: {ping.StdOut} {ping.StdErr}{Environment.NewLine}{node.DaemonOutput()}");
                Assert.Equal(0, podman.Exec("c2", "ping", "-c", "1", "-W", "2", node.Pod("a").Ip).ExitCode);
                // busybox nc with a numeric port: busybox-static's wget looks the "http" service up through glibc's NSS
                // and crashes (exit 139) inside these containers too.
                ProcessResult web = podman.Exec("c1", "sh", "-c", $"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {WebVip} 80");
                Assert.True(web.ExitCode == 0, $"c1 -> {WebVip}:80: exit {web.ExitCode} {web.StdOut}{web.StdErr}{Environment.NewLine}{node.Ctl("stats").StdOut}{node.Ctl("conntrack").StdOut}{node.DaemonOutput()}");
                Assert.StartsWith("HTTP/1.", web.StdOut, StringComparison.Ordinal);
                Assert.EndsWith(WebPage, web.StdOut, StringComparison.Ordinal);
            }
            finally
            {
                podman.Podman("rm", "-f", "-t", "0", "c1", "c2");
            }

            Assert.Equal("", podman.Podman("ps", "-a", "-q").EnsureSuccess().StdOut.Trim());
        }

        Assert.False(File.Exists(c1.SandboxKey) || File.Exists(c2.SandboxKey), $"a container's netns outlived it: {c1.SandboxKey} {c2.SandboxKey}");
        Assert.Equal(nodeLinks.Order(StringComparer.Ordinal), TestNamespaces.LinkNames(node.Namespace).Order(StringComparer.Ordinal));
        Assert.Empty(network.Leases);
        Assert.Empty(PodmanHost.CachedResults(c1.Id));
        Assert.Empty(PodmanHost.CachedResults(c2.Id));
    }

    [RootFact]
    public void A_chained_tuning_plugin_after_ours_sets_its_sysctl_in_the_pod()
    {
        CniPluginBuild.Publish();
        NodeUnderTest node = _node.Value;
        using var namespaces = new TestNamespaces();
        using var network = new TestNetwork(_node, "dataplane", "10.244.1.40", "10.244.1.49",
            () => CniConfigs.Tuning(new Dictionary<string, string> { [CniDriverBridgeTests.TunedSysctl] = "1" }));
        string pod = namespaces.Add();
        Assert.Equal("0", CniDriverBridgeTests.Sysctl(pod, "net.ipv4.conf.default.arp_filter"));

        JsonElement result = network.Cni.Add(pod, "rt-tuned");
        try
        {
            Assert.Single(CniConfigs.ResultAddresses(result));
            Assert.Equal("1", CniDriverBridgeTests.Sysctl(pod, CniDriverBridgeTests.TunedSysctl));
            ProcessResult check = network.Cni.Check(pod, "rt-tuned");
            Assert.True(check.ExitCode == 0, $"CHECK through dataplane-cni and tuning failed: {check.StdErr}{Environment.NewLine}{node.DaemonOutput()}");
            TestNamespaces.Exec(pod, "ping", "-c", "1", "-W", "2", Gateway).EnsureSuccess();
        }
        finally
        {
            network.Cni.Del(pod, "rt-tuned").EnsureSuccess();
        }

        Assert.Empty(network.Leases);
    }
}
