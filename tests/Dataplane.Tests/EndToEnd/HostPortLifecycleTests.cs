using System.Runtime.Versioning;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>The host port's TAP lives exactly as long as the daemon, and a start that cannot make it leaves nothing.</summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class HostPortLifecycleTests
{
    private const string ArpIgnore = $"net.ipv4.conf.{NodeUnderTest.UplinkInterface}.arp_ignore";
    private const string RpFilter = $"net.ipv4.conf.{NodeUnderTest.UplinkInterface}.rp_filter";

    [RootFact]
    public void Sigterm_removes_the_host_tap_and_its_default_route_and_restores_the_uplink_settings()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a"], Uplink = true, HostPort = true });
        Assert.Contains(NodeUnderTest.HostPortName, TestNamespaces.LinkNames(node.Namespace));
        Assert.Equal("8", Sysctl(node.Namespace, ArpIgnore));
        Assert.Equal("1", Sysctl(node.Namespace, RpFilter));

        Assert.Equal(0, node.Stop());

        Assert.DoesNotContain(NodeUnderTest.HostPortName, TestNamespaces.LinkNames(node.Namespace));
        Assert.Equal("", TestNamespaces.Exec(node.Namespace, "ip", "-4", "route", "show", "default").EnsureSuccess().StdOut.Trim());
        Assert.Equal("0", Sysctl(node.Namespace, ArpIgnore));

        // The uplink veth was made with the namespace's default, which the daemon found and put back.
        Assert.Equal(Sysctl(node.Namespace, "net.ipv4.conf.default.rp_filter"), Sysctl(node.Namespace, RpFilter));
    }

    [RootFact]
    public void A_node_namespace_with_a_default_route_already_refuses_the_host_port_and_keeps_nothing_of_it()
    {
        using var namespaces = new TestNamespaces();
        string ns = namespaces.Add();
        string directory = Directory.CreateTempSubdirectory(TestNamespaces.Prefix).FullName;
        try
        {
            // An uplink and, as on a host whose kernel owns its network, a default route of the kernel's own.
            Run(ns, "ip", "link", "add", NodeUnderTest.UplinkInterface, "type", "veth", "peer", "name", "peer0");
            Run(ns, "ip", "link", "set", NodeUnderTest.UplinkInterface, "up");
            Run(ns, "ip", "link", "add", "wan0", "type", "veth", "peer", "name", "wan1");
            Run(ns, "ip", "link", "set", "wan0", "up");
            Run(ns, "ip", "link", "set", "wan1", "up");
            Run(ns, "ip", "addr", "add", "10.99.0.2/24", "dev", "wan0");
            Run(ns, "ip", "route", "add", "default", "via", "10.99.0.1");
            string before = Sysctl(ns, ArpIgnore);
            string config = Path.Combine(directory, "node.yaml");
            File.WriteAllText(config, $"""
                node:
                  name: {TestNamespaces.UniqueName()}
                  podCidr: 10.244.1.0/24
                  gatewayIp: 10.244.1.1
                  mac: 02:00:00:00:01:01
                  uplink: {"{"} interface: {NodeUnderTest.UplinkInterface}, ip: {NodeUnderTest.UplinkIp}/24, mac: {NodeUnderTest.UplinkMac} {"}"}
                  hostPort: {"{"} name: {NodeUnderTest.HostPortName} {"}"}
                dataplane:
                  controlSocket: {Path.Combine(directory, "control.sock")}

                """);

            ProcessResult run = ProcessRunner.Run(NodeUnderTest.StartTimeout, NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "run", "--config", config, "--netns", ns);

            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains("could not start", run.StdOut + run.StdErr, StringComparison.Ordinal);
            Assert.DoesNotContain(NodeUnderTest.HostPortName, TestNamespaces.LinkNames(ns));
            Assert.Equal(before, Sysctl(ns, ArpIgnore));
            Assert.Contains("default via 10.99.0.1", TestNamespaces.Exec(ns, "ip", "route", "show", "default").EnsureSuccess().StdOut, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(directory, "control.sock")), "the control socket was left behind");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Sysctl(string ns, string key) => TestNamespaces.Exec(ns, "sysctl", "-n", key).EnsureSuccess().StdOut.Trim();

    private static void Run(string ns, params string[] command) => TestNamespaces.Exec(ns, command).EnsureSuccess();
}
