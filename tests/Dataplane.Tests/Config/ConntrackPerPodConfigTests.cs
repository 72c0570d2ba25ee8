using Dataplane.Config;
using Dataplane.Model;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary><c>conntrack.perPod</c>: defaults (a quarter of the table), read, written back, refused at its position when out of range.</summary>
[Trait("Category", "unit")]
public sealed class ConntrackPerPodConfigTests
{
    [Fact]
    public void Defaults_give_a_pod_a_quarter_of_the_table_and_a_rate_above_a_nodes_connection_rate()
    {
        ConntrackConfig conntrack = Valid(Node + "conntrack:\n  maxEntries: 4096\n").Conntrack;

        Assert.Equal(ConntrackPodLimits.Default, conntrack.PerPod);
        Assert.Equal(1024, conntrack.PerPod.EntriesFor(conntrack.MaxEntries));
        Assert.Equal(30_000, conntrack.PerPod.NewFlowsPerSecond);
        Assert.Equal(60_000, conntrack.PerPod.Burst);
        Assert.Equal(1024, new NodeDataplane(Valid(Node + "conntrack:\n  maxEntries: 4096\n")).Conntrack.PodLimits!.MaxEntries);
    }

    [Fact]
    public void Values_are_read_and_written_back()
    {
        NodeConfig config = Valid(Node + "conntrack:\n  maxEntries: 4096\n  perPod: { maxEntries: 500, newFlowsPerSecond: 100, burst: 20 }\n");

        Assert.Equal(new ConntrackPodLimits(500, 100, 20), config.Conntrack.PerPod);
        Assert.Equal(config.Conntrack, Valid(NodeConfigWriter.Write(config)).Conntrack);
        Assert.Equal(ConntrackConfig.Default with { MaxEntries = 4096 }, Valid(NodeConfigWriter.Write(Valid(Node + "conntrack:\n  maxEntries: 4096\n"))).Conntrack);
    }

    [Theory]
    [InlineData("  perPod: { maxEntries: 5000 } #!\n", "conntrack.perPod.maxEntries: 5000 is out of range 1..4096")]
    [InlineData("  perPod: { newFlowsPerSecond: 0 } #!\n", "conntrack.perPod.newFlowsPerSecond: 0 is out of range 1..10000000")]
    [InlineData("  perPod:\n    burst: -1 #!\n", "conntrack.perPod.burst: -1 is out of range 1..10000000")]
    [InlineData("  perPod: { maxEntriez: 5 } #!\n", "conntrack.perPod.maxEntriez:")]
    public void A_bad_value_is_refused_with_file_line_and_key(string perPod, string expected)
    {
        string yaml = Node + "conntrack:\n  maxEntries: 4096\n" + perPod;

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.StartsWith($"node.yaml:{MarkedLine(yaml)}:", error.ToString(), StringComparison.Ordinal);
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }
}
