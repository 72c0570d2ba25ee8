using Dataplane.Config;
using Dataplane.Model;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary>How errors are found and reported: all at once, located, and for broken YAML too.</summary>
[Trait("Category", "unit")]
public sealed class NodeConfigErrorReportingTests
{
    [Fact]
    public void Every_error_in_the_file_is_reported_in_file_order()
    {
        const string yaml = """
            pods:
              - { name: web-1, ip: 10.244.9.11, mac: 02:00:00:00:00:0b }
            node:
              name: Node-A
              podCidr: 10.244.1.0/24
              gatewayIp: 10.244.1.1
              mac: 02:00:00:00:01:01
              mtu: big
            services:
              - { name: web, clusterIP: 10.96.0.10, ports: [{ port: 80, protocl: TCP }] }
            dataplane:
              batchSize: 1024
            """;

        IReadOnlyList<ConfigError> errors = Errors(yaml);

        Assert.Equal(
            [
                (2, "pods[0].ip"),
                (4, "node.name"),
                (8, "node.mtu"),
                (10, "services[0].ports[0].protocl"),
                (12, "dataplane.batchSize"),
            ],
            errors.Select(static e => (e.Line, e.KeyPath)));
    }

    [Fact]
    public void Error_points_at_the_value_column()
    {
        const string yaml = ConfigYaml.Node + "pods:\n  - name: web-2\n    ip: 10.244.2.5\n    mac: 02:00:00:00:00:0b\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal("node.yaml:9:9: pods[0].ip: '10.244.2.5' is outside node.podCidr 10.244.1.0/24", error.ToString());
    }

    [Fact]
    public void Unknown_key_points_at_the_key_and_suggests_the_valid_one()
    {
        const string yaml = "node:\n  name: node-a\n  podCidr: 10.244.1.0/24\n  gatewayIp: 10.244.1.1\n  mac: 02:00:00:00:01:01\n  gateway_mac: 02:00:00:00:01:01\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal((6, 3), (error.Line, error.Column));
        Assert.Equal("node.gateway_mac", error.KeyPath);
        Assert.StartsWith("unknown key 'gateway_mac'; valid keys: name, podCidr,", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Misspelled_required_key_is_one_error_not_also_a_missing_key()
    {
        const string yaml = "node:\n  name: node-a\n  podCIDR: 10.244.1.0/24\n  gatewayIp: 10.244.1.1\n  mac: 02:00:00:00:01:01\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal("node.yaml:3:3: node.podCIDR: unknown key 'podCIDR' (did you mean 'podCidr'?); valid keys: name, podCidr, podCidrV6, gatewayIp, gatewayIpV6, mac, mtu, uplink, hostPort, vxlan, nodePortRange, masquerade, announceExternalIps", error.ToString());
    }

    [Theory]
    [InlineData("podCIDR", "podCidr")]
    [InlineData("gatewyIp", "gatewayIp")]
    [InlineData("gatewayIP", "gatewayIp")]
    [InlineData("podcidrv6", "podCidrV6")]
    [InlineData("mtuu", "mtu")]
    [InlineData("uplnik", "uplink")]
    [InlineData("ipv6", null)]
    [InlineData("color", null)]
    public void Key_suggestion_catches_typos_but_not_unrelated_keys(string typo, string? expected)
    {
        string[] nodeKeys = ["name", "podCidr", "podCidrV6", "gatewayIp", "gatewayIpV6", "mac", "mtu", "uplink"];

        Assert.Equal(expected, KeySuggester.Suggest(typo, nodeKeys));
    }

    [Theory]
    [InlineData("node:\n  name: node-a\n    podCidr: 10.244.1.0/24  #!\n")]
    [InlineData("node:\n  name: [a, b\n  x: 1  #!\n")]
    [InlineData("node:\n  name: node-a\n  name: node-b  #!\n")]
    [InlineData("node:\n  mac: *gateway  #!\n")]
    [InlineData("node:\n\tname: node-a  #!\n")]
    public void Yaml_syntax_error_is_one_error_with_its_line(string yaml)
    {
        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal("", error.KeyPath);
        Assert.StartsWith("YAML syntax error: ", error.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("Idx:", error.Problem, StringComparison.Ordinal);
        Assert.Equal(MarkedLine(yaml), error.Line);
        Assert.True(error.Column > 0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# nothing but a comment\n")]
    public void Empty_file_is_an_error(string yaml)
    {
        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal("node.yaml:1:1: the file is empty: expected a mapping with at least a 'node:' section", error.ToString());
    }

    [Fact]
    public void Second_document_is_an_error()
    {
        string yaml = ConfigYaml.Node + "---\nnode: {}  #!\n";

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Contains("expected one YAML document, found 2", error.Problem, StringComparison.Ordinal);
        Assert.Equal(MarkedLine(yaml), error.Line);
    }

    [Fact]
    public void Unreadable_file_is_one_error_naming_the_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dp-missing-{Guid.NewGuid():N}", "node.yaml");

        ConfigResult result = NodeConfigLoader.Load(path);

        ConfigError error = Assert.Single(result.Errors);
        Assert.Equal(path, error.File);
        Assert.Equal(0, error.Line);
        Assert.StartsWith($"{path}: cannot read the config file: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_reads_a_file_and_names_it_in_errors()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dp-config-{Guid.NewGuid():N}.yaml");
        try
        {
            File.WriteAllText(path, ConfigYaml.Node + "pods: 3\n");

            ConfigError error = Assert.Single(NodeConfigLoader.Load(path).Errors);

            Assert.Equal($"{path}:7:7: pods: expected a list, got '3'", error.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ThrowIfInvalid_lists_every_error()
    {
        ConfigResult result = NodeConfigLoader.Parse("node:\n  name: node-a\n  podCidr: 10.244.1.0/24\n  gatewayIp: 10.244.1.1\n  mac: 02:00:00:00:01:01\n  mtu: 1\n  x: 1\n", "n.yaml");

        ConfigException e = Assert.Throws<ConfigException>(() => result.ThrowIfInvalid());

        Assert.Equal(2, e.Errors.Count);
        Assert.Contains("n.yaml: 2 configuration errors", e.Message, StringComparison.Ordinal);
        Assert.Contains("n.yaml:6:8: node.mtu: 1 is out of range 576..65535", e.Message, StringComparison.Ordinal);
        Assert.Contains("n.yaml:7:3: node.x: unknown key 'x'", e.Message, StringComparison.Ordinal);
        Assert.Null(result.Config);
    }

    [Fact]
    public void Error_text_has_compiler_shape()
    {
        var error = new ConfigError("node.yaml", 14, 11, "pods[1].ip", "'10.244.2.5' is outside node.podCidr 10.244.1.0/24");

        Assert.Equal("node.yaml:14:11: pods[1].ip: '10.244.2.5' is outside node.podCidr 10.244.1.0/24", error.ToString());
        Assert.Equal("node.yaml:3:1: oops", (error with { Line = 3, Column = 1, KeyPath = "", Problem = "oops" }).ToString());
    }

    [Fact]
    public void A_bad_pod_cidr_is_reported_once_not_again_for_every_pod()
    {
        const string yaml = """
            node:
              name: node-a
              podCidr: 10.244.1.0/33
              gatewayIp: 10.244.1.1
              mac: 02:00:00:00:01:01
            pods:
              - { name: a, ip: 10.244.1.11, mac: 02:00:00:00:00:0a }
              - { name: b, ip: 10.244.7.12, mac: 02:00:00:00:00:0b }
            """;

        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal("node.podCidr", error.KeyPath);
    }
}
