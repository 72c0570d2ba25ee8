using System.Runtime.Versioning;
using Dataplane.Tests.Infrastructure;
using Dataplane.Tests.Pipeline;

namespace Dataplane.Tests.EndToEnd;

/// <summary>The README's main command: `dataplane demo` builds a node in namespaces and drives every flow.</summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class DemoTests
{
    [RootFact]
    public void Demo_drives_every_flow_through_the_daemon_and_leaves_nothing_behind()
    {
        IReadOnlyList<string> before = TestNamespaces.ListNamespaces();

        (int exit, string stdout, string stderr) = ReplayFiles.Cli("demo", "--cni-bin", CniPluginBuild.Publish());

        Assert.True(exit == 0, $"demo failed ({exit}):{Environment.NewLine}{stdout}{stderr}");
        foreach (string flow in new[] { "container-to-container", "pod-to-pod (bridged)", "pod-to-gateway", "pod-to-service", "across nodes", "pod added at run time (CNI plugin)", "node kernel untouched" })
        {
            string line = stdout.Split('\n').Single(l => l.Contains(flow, StringComparison.Ordinal));
            Assert.Matches(@"\sok\s", line);
        }

        // The run-time pod got its address from host-local's range and reached web-1.
        Assert.Matches(@"ADD 10\.244\.1\.1[0-2]\d/24 \(host-local\) into a new netns, ping 10\.244\.1\.11, DEL: .*3 received", stdout);

        // Every backend answered some of the 30 service connections.
        Assert.Matches(@"web-1 \d+, web-2 \d+, web-3 \d+", stdout);
        Assert.DoesNotContain(TestNamespaces.ListNamespaces(), ns => ns.StartsWith("dpdemo-", StringComparison.Ordinal) && !before.Contains(ns));
    }
}
