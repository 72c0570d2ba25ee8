using System.Runtime.Versioning;
using Dataplane.Tests.Infrastructure;
using Dataplane.Tests.Pipeline;

namespace Dataplane.Tests.EndToEnd;

/// <summary>The README's main command: `dataplane demo` builds a two-node cluster in namespaces and drives every flow.</summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class DemoTests
{
    [RootFact]
    public void Demo_drives_every_flow_through_both_daemons_and_leaves_nothing_behind()
    {
        IReadOnlyList<string> before = TestNamespaces.ListNamespaces();

        (int exit, string stdout, string stderr) = ReplayFiles.Cli("demo", "--cni-bin", CniPluginBuild.Publish());

        Assert.True(exit == 0, $"demo failed ({exit}):{Environment.NewLine}{stdout}{stderr}");
        string[] flows =
        [
            "container-to-container", "pod-to-pod (bridged)", "pod-to-gateway", "pod-to-service", "across nodes", "backend on node-b",
            "pod added at run time (CNI plugin)", "NodePort (Cluster) on node-a", "NodePort (Local) on node-b", "LoadBalancer IP",
            "pod to internet (masquerade)", "node kernels untouched",
        ];
        foreach (string flow in flows)
        {
            string line = stdout.Split('\n').Single(l => l.Contains(flow, StringComparison.Ordinal));
            Assert.Matches(@"\sok\s", line);
        }

        // The run-time pod got its address from host-local's range and reached web-1.
        Assert.Matches(@"ADD 10\.244\.1\.1[0-2]\d/24 \(host-local\) into a new netns, ping 10\.244\.1\.11, DEL: .*3 received", stdout);

        // Every backend, on both nodes, answered some of the ClusterIP connections.
        Assert.Matches(@"web-1 \d+, web-2 \d+, web-3 \d+, web-b1 \d+, web-b2 \d+", stdout);

        // What the servers saw: node-a's address behind a Cluster-policy NodePort and for masqueraded egress, the
        // external client's own behind the Local policy.
        Assert.Matches(@"NodePort \(Cluster\) on node-a .*pods saw 192\.168\.77\.10 \(SNAT", stdout);
        Assert.Matches(@"NodePort \(Local\) on node-b .*web-b\d \d+.*pods saw 198\.51\.100\.10 \(client", stdout);
        Assert.Matches(@"internet 3; the server saw 192\.168\.77\.10:\d+", stdout);
        Assert.Matches(@"node-a ip_forward=0, v6 forwarding=0, no bridge, no nft rules; node-b ip_forward=0, v6 forwarding=0, no bridge, no nft rules", stdout);
        Assert.DoesNotContain(TestNamespaces.ListNamespaces(), ns => ns.StartsWith("dpdemo-", StringComparison.Ordinal) && !before.Contains(ns));
    }
}
