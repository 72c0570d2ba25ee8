using Dataplane.Config;
using Dataplane.Demo;
using Dataplane.Model;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// docker-compose.yml describes the demo's cluster: Debian's docker-compose accepts it, and its nodes' configs
/// (deploy/compose/) are the demo's own nodes with eth0 as the uplink, so the two never drift apart.
/// </summary>
[Trait("Category", "unit")]
public sealed class ComposeTests
{
    private const string RegenerateVariable = "DATAPLANE_REGENERATE_EXAMPLES";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [ToolFact("docker-compose")]
    public void Docker_compose_accepts_the_cluster_file()
    {
        string compose = Repository.PathOf("docker-compose.yml");

        ProcessResult check = ProcessRunner.Run(s_timeout, "docker-compose", "-f", compose, "config", "-q");
        ProcessResult services = ProcessRunner.Run(s_timeout, "docker-compose", "-f", compose, "config", "--services");

        Assert.True(check.ExitCode == 0, $"docker-compose config -q: {check.StdErr}{check.StdOut}");
        Assert.Equal(["client", "internet", "node-a", "node-b", "router"],
            services.EnsureSuccess().StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(static s => !s.Contains("demo", StringComparison.Ordinal)).Order());
    }

    [Theory]
    [InlineData("node-a")]
    [InlineData("node-b")]
    public void Compose_node_configs_are_the_demos_nodes(string node)
    {
        string path = Repository.PathOf("deploy", "compose", $"{node}.yaml");
        string expected = $"""
            # {node} of the compose cluster (docker-compose.yml): the same node as `dataplane demo`'s {node}, with eth0 (the
            # container's interface on the underlay network) as the uplink and each pod in a namespace named as the pod.
            # Generated from DemoTopology.NodeYaml by ComposeTests: run it with {RegenerateVariable}=1 after changing the demo.

            """ + DemoTopology.NodeYaml(node, "eth0", static pod => pod, controlSocket: null);
        if (Environment.GetEnvironmentVariable(RegenerateVariable) == "1")
        {
            File.WriteAllText(path, expected);
        }

        Assert.True(File.Exists(path) && File.ReadAllText(path) == expected,
            $"{path} is not DemoTopology's {node}; if the change is intended, run this test with {RegenerateVariable}=1 and commit the file");
        NodeConfig config = NodeConfigLoader.Load(path).ThrowIfInvalid();
        Assert.Equal("eth0", config.Node.Uplink!.Interface);
        Assert.Equal(["default/web", "default/web-local", "default/web-b", "default/ingress"], config.Services.Select(static s => s.Name));
    }
}
