using System.Runtime.Versioning;
using Dataplane.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Dataplane.Tests.Soak;

/// <summary>
/// The soak (<see cref="SoakRun"/>): churn for DATAPLANE_SOAK_SECONDS (60 s by default; scripts/soak.sh runs 30
/// minutes), then the daemon must have stayed up, given back what the churn took (conntrack entries, descriptors,
/// TAPs, namespaces, memory beyond a bound) and forwarded without error.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "slow")]
public sealed class SoakTests(ITestOutputHelper output)
{
    /// <summary>
    /// How much the daemon's RSS may grow from the end of the warm-up round to the end of the run. The tables are
    /// preallocated, so steady churn should need no more memory; the bound leaves room for the GC's heap sizing
    /// (a gen2 collection happens when it likes) and is far below what a leak of a pod, a flow or a control
    /// connection per round would reach over 30 minutes.
    /// </summary>
    private const long RssGrowthBound = 64L << 20;

    /// <summary>
    /// Drops the churn explains: a flood may meet a full table or its pod's conntrack share (conntrack.perPod), and
    /// every new pod's kernel solicits a router the node does not advertise. Anything else is a forwarding error.
    /// </summary>
    private static readonly string[] s_explainedDrops =
        ["conntrack/table-full", "conntrack/pod-entry-limit", "conntrack/pod-rate-limit", "ndp/router-solicitation-ignored"];

    [RootFact]
    public async Task Churn_leaves_the_daemon_alive_bounded_and_back_to_its_base()
    {
        TimeSpan duration = SoakRun.DurationFromEnvironment();
        using SoakRun soak = SoakRun.Start();
        SoakFigures figures = soak.Figures;
        try
        {
            await soak.ChurnAsync(duration, output.WriteLine);

            IReadOnlyList<string> pods = soak.ListedPods();
            IReadOnlyList<string> links = TestNamespaces.LinkNames(soak.Node.Namespace);
            IReadOnlyList<string> namespaces = TestNamespaces.ListNamespaces();
            Dictionary<string, string> podLinks = SoakRun.StaticPods.ToDictionary(p => p,
                p => string.Join(",", TestNamespaces.LinkNames(soak.Node.Pod(p).Netns).Order(StringComparer.Ordinal)));
            soak.Settle();
            Report(figures);

            Assert.False(soak.Node.HasExited, $"the daemon died{Environment.NewLine}{soak.Node.DaemonOutput()}");
            Assert.Equal(figures.PodsAdded, figures.PodsRemoved);
            Assert.Equal(SoakRun.StaticPods.Order(StringComparer.Ordinal), pods.Order(StringComparer.Ordinal));
            Assert.Equal(soak.BaseLinks.Order(StringComparer.Ordinal), links.Order(StringComparer.Ordinal));
            Assert.All(podLinks, p => Assert.True(p.Value == "eth0,lo", $"pod {p.Key} has links {p.Value}"));
            Assert.Empty(soak.ChurnNamespaces.Intersect(namespaces));
            Assert.True(figures.ConntrackEnd <= figures.ConntrackBase, $"conntrack did not come back to its base {figures.ConntrackBase}: {figures.ConntrackEnd} entries");
            Assert.True(figures.FdEnd <= figures.FdBase, $"the daemon holds {figures.FdEnd} descriptors, {figures.FdBase} after warm-up");
            Assert.True(figures.RssEnd - figures.RssBase < RssGrowthBound,
                $"RSS grew by {(figures.RssEnd - figures.RssBase) >> 20} MiB (bound {RssGrowthBound >> 20} MiB)");
            Assert.Empty(figures.FlowFailures);
            Assert.Equal(0, figures.ReadErrors);
            Assert.Equal(0, figures.TxErrors);
            Assert.DoesNotContain(figures.Drops.Keys, d => !IsExplained(d));
            Assert.Empty(figures.ErrorLogLines);
        }
        catch
        {
            output.WriteLine(figures.ToString());
            output.WriteLine(soak.Node.DaemonOutput());
            throw;
        }
    }

    private static bool IsExplained(string drop) => s_explainedDrops.Contains(drop, StringComparer.Ordinal);

    /// <summary>Prints the figures to the test output and, for scripts/soak.sh, to DATAPLANE_SOAK_FIGURES if set.</summary>
    private void Report(SoakFigures figures)
    {
        string text = figures.ToString();
        output.WriteLine(text);
        if (Environment.GetEnvironmentVariable("DATAPLANE_SOAK_FIGURES") is { Length: > 0 } path)
        {
            File.WriteAllText(path, text);
        }
    }
}
