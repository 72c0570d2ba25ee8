using Dataplane.Config;
using Dataplane.Model;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary>dataplane.controlGroup and the control socket's limits: defaults, read and written back, refused with their location.</summary>
[Trait("Category", "unit")]
public sealed class ControlSocketLimitsConfigTests
{
    [Fact]
    public void Defaults_are_root_only_64_connections_10_s_idle_and_60_s_per_request()
    {
        DataplaneSettings d = Valid(Node).Dataplane;

        Assert.Equal((null, 64, 10, 60), (d.ControlGroup, d.ControlMaxConnections, d.ControlIdleTimeoutSeconds, d.ControlRequestTimeoutSeconds));
    }

    [Fact]
    public void Set_values_are_read_and_written_back()
    {
        NodeConfig config = Valid(Node + "dataplane:\n  controlGroup: dataplane\n  controlMaxConnections: 8\n  controlIdleTimeoutSeconds: 2\n  controlRequestTimeoutSeconds: 5\n");

        DataplaneSettings d = Valid(NodeConfigWriter.Write(config)).Dataplane;

        Assert.Equal(("dataplane", 8, 2, 5), (d.ControlGroup, d.ControlMaxConnections, d.ControlIdleTimeoutSeconds, d.ControlRequestTimeoutSeconds));
        Assert.Equal("4242", Valid(Node + "dataplane:\n  controlGroup: 4242\n").Dataplane.ControlGroup);
    }

    [Theory]
    [InlineData("controlGroup: 'wheel users'", "controlGroup", "is not a group name or gid")]
    [InlineData("controlGroup: -x", "controlGroup", "is not a group name or gid")]
    [InlineData("controlMaxConnections: 0", "controlMaxConnections", "1")]
    [InlineData("controlMaxConnections: 100000", "controlMaxConnections", "4096")]
    [InlineData("controlIdleTimeoutSeconds: 0", "controlIdleTimeoutSeconds", "3600")]
    [InlineData("controlRequestTimeoutSeconds: -1", "controlRequestTimeoutSeconds", "86400")]
    public void A_bad_value_is_reported_at_its_line(string line, string key, string problem)
    {
        string yaml = Node + "dataplane:\n  " + line + "  #!\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal($"dataplane.{key}", error.KeyPath);
        Assert.Equal(MarkedLine(yaml), error.Line);
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
        Assert.StartsWith($"node.yaml:{error.Line}:", error.ToString(), StringComparison.Ordinal);
    }
}
