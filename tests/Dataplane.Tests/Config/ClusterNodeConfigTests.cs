using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary>
/// A node in a cluster: what node.yaml leaves out of the node section comes from the API server (name, pod CIDRs),
/// with the gateway and its MAC defaulted, and a file that contradicts the cluster is refused at the line.
/// </summary>
[Trait("Category", "unit")]
public sealed class ClusterNodeConfigTests : IDisposable
{
    private static readonly ClusterNodeIdentity s_node = new("ip-10-0-1-5.ec2.internal", IpPrefix.Parse("10.244.7.0/24"), IpPrefix.Parse("fd00:10:244:7::/64"));
    private readonly string _dir = Directory.CreateTempSubdirectory("cluster-node-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string yaml)
    {
        string path = Path.Combine(_dir, "node.yaml");
        System.IO.File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void No_file_at_all_is_a_node_with_the_clusters_name_cidrs_and_default_gateways()
    {
        ConfigResult result = NodeConfigLoader.Load(null, s_node);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        NodeSettings node = result.Config.Node;
        Assert.Equal("ip-10-0-1-5.ec2.internal", node.Name);
        Assert.Equal("10.244.7.0/24", node.PodCidr.ToString());
        Assert.Equal("fd00:10:244:7::/64", node.PodCidrV6.ToString());
        Assert.Equal("10.244.7.1", node.GatewayIp.ToString());
        Assert.Equal("fd00:10:244:7::1", node.GatewayIpV6.ToString());
        Assert.Equal(ClusterNodeIdentity.DefaultGatewayMac, node.Mac);
        Assert.Null(node.Uplink);
        Assert.Empty(result.Config.Services);
    }

    [Fact]
    public void File_gives_the_rest_and_the_cluster_fills_in_the_node()
    {
        string path = File("""
            node:
              mac: 02:00:00:00:01:01
              mtu: 1450
              uplink: { interface: up0, ip: 10.0.1.5/24, mac: 02:00:00:00:77:10 }
            conntrack: { maxEntries: 65536 }
            """);

        ConfigResult result = NodeConfigLoader.Load(path, s_node);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal("ip-10-0-1-5.ec2.internal", result.Config.Node.Name);
        Assert.Equal("10.244.7.1", result.Config.Node.GatewayIp.ToString());
        Assert.Equal("02:00:00:00:01:01", result.Config.Node.Mac.ToString());
        Assert.Equal(1450, result.Config.Node.Mtu);
        Assert.Equal(65536, result.Config.Conntrack.MaxEntries);
    }

    [Theory]
    [InlineData("  podCidr: 10.244.8.0/24  #!\n", "node.podCidr", "'10.244.8.0/24' differs from what the API server says for node ip-10-0-1-5.ec2.internal: 10.244.7.0/24")]
    [InlineData("  name: node-b  #!\n", "node.name", "'node-b' is not this node: --node-name says ip-10-0-1-5.ec2.internal")]
    [InlineData("  gatewayIp: 10.244.8.1  #!\n", "node.gatewayIp", "outside node.podCidr 10.244.7.0/24")]
    public void File_that_contradicts_the_cluster_is_refused_at_its_line(string line, string keyPath, string problem)
    {
        string yaml = "node:\n" + line + "  mac: 02:00:00:00:01:01\n";
        ConfigResult result = NodeConfigLoader.Load(File(yaml), s_node);

        ConfigError error = Assert.Single(result.Errors);
        Assert.Equal(keyPath, error.KeyPath);
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
        Assert.Equal(MarkedLine(yaml), error.Line);
    }

    [Fact]
    public void File_that_agrees_with_the_cluster_is_taken_as_written()
    {
        string path = File("node:\n  name: ip-10-0-1-5.ec2.internal\n  podCidr: 10.244.7.0/24\n  gatewayIp: 10.244.7.254\n");
        ConfigResult result = NodeConfigLoader.Load(path, s_node);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal("10.244.7.254", result.Config.Node.GatewayIp.ToString());
    }

    [Fact]
    public void Without_the_cluster_a_file_must_still_name_everything()
    {
        string path = File("node:\n  mac: 02:00:00:00:01:01\n");
        ConfigResult result = NodeConfigLoader.Load(path);

        Assert.Contains(result.Errors, static e => e.KeyPath == "node.name" && e.Problem.Contains("required", StringComparison.Ordinal));
        Assert.Contains(result.Errors, static e => e.KeyPath == "node.podCidr");
    }
}
