using Dataplane.Config;
using Dataplane.Model;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary><c>dataplane.metricsAddress</c>: off by default, an IP:PORT when set, refused with its location otherwise.</summary>
[Trait("Category", "unit")]
public sealed class MetricsAddressConfigTests
{
    [Fact]
    public void Metrics_address_is_off_by_default_and_read_and_written_back_when_set()
    {
        Assert.Null(Valid(Node).Dataplane.MetricsAddress);

        NodeConfig config = Valid(Node + "dataplane:\n  metricsAddress: 127.0.0.1:9641\n");

        Assert.Equal("127.0.0.1:9641", config.Dataplane.MetricsAddress);
        Assert.Equal("[::1]:9641", Valid(Node + "dataplane:\n  metricsAddress: '[::1]:9641'\n").Dataplane.MetricsAddress);
        Assert.Equal("127.0.0.1:9641", Valid(NodeConfigWriter.Write(config)).Dataplane.MetricsAddress);
    }

    [Theory]
    [InlineData("localhost:9641", "is not IP:PORT")]
    [InlineData("127.0.0.1", "is not IP:PORT")]
    [InlineData("127.0.0.1:0", "needs a port 1-65535")]
    [InlineData("127.0.0.1:70000", "is not IP:PORT")]
    [InlineData("'::1'", "needs a port 1-65535")]
    public void A_bad_metrics_address_is_reported_at_its_value(string value, string problem)
    {
        string yaml = Node + "dataplane:\n  metricsAddress: " + value + "  #!\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal("dataplane.metricsAddress", error.KeyPath);
        Assert.Equal(MarkedLine(yaml), error.Line);
        Assert.Equal(19, error.Column);
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
        Assert.StartsWith($"node.yaml:{error.Line}:19: dataplane.metricsAddress: ", error.ToString(), StringComparison.Ordinal);
    }
}
