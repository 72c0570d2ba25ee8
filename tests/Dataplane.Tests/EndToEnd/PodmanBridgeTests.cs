using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// The podman fixture (<see cref="PodmanHost"/>) validated against Debian's bridge plugin: podman runs inside a test
/// node namespace, so the bridge and the host ends of the veths land there. The same fixture runs podman on the
/// dataplane's network in <see cref="CniRuntimeTests"/>.
/// </summary>
[Collection(PodmanCollection.Name)]
[Trait("Category", "e2e")]
public sealed class PodmanBridgeTests : IClassFixture<PodmanBridgeTests.Fixture>
{
    private readonly Fixture _fixture;

    public PodmanBridgeTests(Fixture fixture) => _fixture = fixture;

    /// <summary>A bridge node namespace and podman on it (the image imported once for the class).</summary>
    public sealed class Fixture : IDisposable
    {
        public Fixture()
        {
            Node = new BridgeCniNode();
            try
            {
                Podman = new PodmanHost(Node.Namespace, BridgeCniNode.NetworkName, [CniConfigs.DebianPluginDirectory],
                    CniConfigs.Bridge(BridgeCniNode.BridgeName, CniConfigs.HostLocal(BridgeCniNode.Subnet, BridgeCniNode.Gateway, Node.IpamDirectory)));
            }
            catch
            {
                Node.Dispose();
                throw;
            }
        }

        public BridgeCniNode Node { get; }

        public PodmanHost Podman { get; }

        public void Dispose()
        {
            try
            {
                Podman.Dispose();
            }
            finally
            {
                Node.Dispose();
            }
        }
    }

    [RootFact]
    public void The_imported_busybox_image_runs_and_execs_without_a_network()
    {
        PodmanHost podman = _fixture.Podman;
        Assert.Equal("cni", podman.Podman("info", "--format", "{{.Host.NetworkBackend}}").EnsureSuccess().StdOut.Trim());
        Assert.Contains(PodmanHost.Image, podman.Podman("images", "--format", "{{.Repository}}:{{.Tag}}").EnsureSuccess().StdOut);

        PodmanContainer c = podman.Run("lonely", ["sleep", "600"], network: "none");
        try
        {
            ProcessResult links = podman.Exec("lonely", "ip", "-o", "link").EnsureSuccess();
            Assert.Contains("lo:", links.StdOut);
            Assert.DoesNotContain("eth0", links.StdOut);
            Assert.Equal("hello", podman.Exec("lonely", "sh", "-c", "echo hello").EnsureSuccess().StdOut.Trim());
            Assert.True(c.Pid > 0, $"inspect gave no PID: {c}");
        }
        finally
        {
            podman.Remove("lonely");
        }

        Assert.Equal("", podman.Podman("ps", "-a", "-q").EnsureSuccess().StdOut.Trim());
    }

    [RootFact]
    public void Two_containers_on_a_bridge_network_ping_each_other_and_rm_leaves_no_netns_veth_or_lease()
    {
        PodmanHost podman = _fixture.Podman;
        BridgeCniNode node = _fixture.Node;
        PodmanContainer c1, c2;
        try
        {
            c1 = podman.Run("c1", ["sleep", "600"]);
            c2 = podman.Run("c2", ["sleep", "600"]);

            Assert.NotNull(c1.Ip);
            Assert.NotNull(c2.Ip);
            Assert.NotEqual(c1.Ip, c2.Ip);
            Assert.True(CniConfigs.InSubnet(c1.Ip!, BridgeCniNode.Subnet) && CniConfigs.InSubnet(c2.Ip!, BridgeCniNode.Subnet), $"{c1} {c2}");
            Assert.True(File.Exists(c1.SandboxKey) && File.Exists(c2.SandboxKey), $"no netns file: {c1.SandboxKey} {c2.SandboxKey}");
            Assert.Equal(2, VethCount(node));
            Assert.False(TestNamespaces.HostLinkExists(BridgeCniNode.BridgeName), "the bridge plugin ran in the host namespace");
            Assert.Equal(new[] { c1.Ip!, c2.Ip! }.Order(StringComparer.Ordinal), node.Leases);

            ProcessResult ping = podman.Exec("c1", "ping", "-c", "3", "-W", "2", c2.Ip!);
            Assert.True(ping.ExitCode == 0, $"c1 -> c2 ping failed: {ping.StdOut} {ping.StdErr}");
            Assert.Contains(" 0% packet loss", ping.StdOut);
            Assert.Equal(0, podman.Exec("c2", "ping", "-c", "1", "-W", "2", c1.Ip!).ExitCode);
        }
        finally
        {
            podman.Podman("rm", "-f", "-t", "0", "c1", "c2");
        }

        Assert.False(File.Exists(c1.SandboxKey), $"{c1.SandboxKey} outlived its container");
        Assert.False(File.Exists(c2.SandboxKey), $"{c2.SandboxKey} outlived its container");
        Assert.DoesNotContain(Path.GetFileName(c1.SandboxKey), TestNamespaces.ListNamespaces());
        Assert.Equal(0, VethCount(node));
        Assert.Empty(node.Leases);
        Assert.Empty(PodmanHost.CachedResults(c1.Id));
        Assert.Empty(PodmanHost.CachedResults(c2.Id));
        Assert.Equal("", podman.Podman("ps", "-a", "-q").EnsureSuccess().StdOut.Trim());
    }

    private static int VethCount(BridgeCniNode node) =>
        TestNamespaces.LinkNames(node.Namespace).Count(l => l.StartsWith("veth", StringComparison.Ordinal));
}
