using Dataplane.Config;
using Dataplane.Model;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary><c>conntrack.accounting</c>: off by default (as nf_conntrack_acct), read, written back, and refused when not a boolean.</summary>
[Trait("Category", "unit")]
public sealed class ConntrackAccountingConfigTests
{
    [Fact]
    public void Accounting_is_off_by_default_and_read_and_written_back_when_on()
    {
        Assert.False(Valid(Node).Conntrack.Accounting);
        Assert.False(Valid(Node + "conntrack:\n  maxEntries: 4096\n").Conntrack.Accounting);

        NodeConfig config = Valid(Node + "conntrack:\n  accounting: true\n");

        Assert.Equal(ConntrackConfig.Default with { Accounting = true }, config.Conntrack);
        Assert.Contains("\n  accounting: true\n", NodeConfigWriter.Write(config), StringComparison.Ordinal);
        Assert.Equal(config.Conntrack, Valid(NodeConfigWriter.Write(config)).Conntrack);
    }

    [Fact]
    public void A_value_that_is_not_a_boolean_is_refused_at_its_position()
    {
        string yaml = Node + "conntrack:\n  maxEntries: 4096\n  accounting: yes please #!\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal($"node.yaml:{MarkedLine(yaml)}:15: conntrack.accounting: expected true or false, got 'yes please'", error.ToString());
    }
}
