using Dataplane.Config;
using Dataplane.Model;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>Variants of <see cref="TestNode"/> for the tests that need a setting changed.</summary>
internal static class TestConfigs
{
    /// <summary>The test node with <c>node.mtu</c> set (the MTU of every pod port) and any top-level sections.</summary>
    public static NodeConfig WithMtu(int mtu, string extra = "")
    {
        string yaml = Yaml(extra: extra);
        string gatewayMacLine = $"  mac: {GatewayMac}\n";
        Assert.Contains(gatewayMacLine, yaml);
        return NodeConfigLoader.Parse(yaml.Replace(gatewayMacLine, $"{gatewayMacLine}  mtu: {mtu}\n", StringComparison.Ordinal), "test-node.yaml").ThrowIfInvalid();
    }

    public static NodeConfig With(string extra) => TestNode.Config(extra: extra);

    /// <summary>Service "web" (10.96.0.10, TCP 80 -> 8080) with web-1 as its only endpoint, so where its traffic goes does not depend on Maglev.</summary>
    public const string OneBackendServices = """
          - name: web
            clusterIP: 10.96.0.10
            ports:
              - { name: http, protocol: TCP, port: 80, targetPort: 8080 }
            endpoints:
              - { ip: 10.244.1.11 }
        """;

    public static NodeConfig OneBackend() => TestNode.Config(OneBackendServices);
}
