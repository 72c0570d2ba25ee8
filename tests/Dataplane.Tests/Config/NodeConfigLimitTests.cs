using System.Text;
using Dataplane.Config;
using Dataplane.Model;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary>
/// Limits of the engine (Maglev's 16-bit backend index, the service table's capacity, the FIB's 15-bit next hops)
/// are reported by the config layer with a position, so building the dataplane from a valid config cannot fail; and
/// <c>ctl service apply</c> is checked against the services already running, not refused later by the table.
/// </summary>
[Trait("Category", "unit")]
public sealed class NodeConfigLimitTests
{
    [Fact]
    public void Too_many_endpoints_in_one_family_is_a_positioned_error()
    {
        var yaml = new StringBuilder(Node);
        yaml.Append("services:\n  - name: big\n    clusterIP: 10.96.0.10\n    ports: [{ port: 80 }]\n    endpoints:\n");
        for (int i = 0; i <= ServiceRules.MaxEndpointsPerFamily; i++)
        {
            yaml.Append($"      - {{ ip: 10.{128 + (i >> 16)}.{(i >> 8) & 0xFF}.{i & 0xFF} }}{(i == 0 ? "  #!" : "")}\n");
        }

        ConfigError error = Assert.Single(Errors(yaml.ToString()));

        Assert.Equal("services[0].endpoints", error.KeyPath);
        Assert.Equal($"{ServiceRules.MaxEndpointsPerFamily + 1} IPv4 endpoints; a service takes at most {ServiceRules.MaxEndpointsPerFamily} per family (a Maglev entry indexes them with 16 bits)", error.Problem);
        Assert.Equal(MarkedLine(yaml.ToString()), error.Line);
    }

    [Fact]
    public void More_service_ports_than_the_table_holds_is_a_positioned_error()
    {
        // One dual-stack service: each port is two frontends.
        var yaml = new StringBuilder(DualStackNode);
        yaml.Append("services:\n  - name: wide\n    clusterIPs: [10.96.0.10, fd00:96::10]\n    ports:\n");
        int ports = (ServiceRules.MaxServicePorts / 2) + 1;
        for (int p = 1; p <= ports; p++)
        {
            yaml.Append($"      - {{ port: {p} }}{(p == 1 ? "  #!" : "")}\n");
        }

        ConfigError error = Assert.Single(Errors(yaml.ToString()));

        Assert.Equal("services[0].ports", error.KeyPath);
        Assert.Equal($"the node's services reach {2 * ports} service ports here (each port counts once per cluster IP); a node holds at most {ServiceRules.MaxServicePorts}", error.Problem);
        Assert.Equal(MarkedLine(yaml.ToString()), error.Line);
    }

    [Fact]
    public void More_pods_and_next_hops_than_the_fib_holds_is_a_positioned_error()
    {
        var yaml = new StringBuilder("""
            node:
              name: node-a
              podCidr: 10.0.0.0/8
              gatewayIp: 10.0.0.1
              mac: 02:00:00:00:01:01
            pods:

            """);
        int pods = NodeRules.MaxPodsAndNextHops + 1;
        for (int i = 0; i < pods; i++)
        {
            int host = i + 2;
            yaml.Append($"  - {{ name: p{i}, ip: 10.{host >> 16}.{(host >> 8) & 0xFF}.{host & 0xFF}, mac: 02:01:00:{host >> 16:x2}:{(host >> 8) & 0xFF:x2}:{host & 0xFF:x2} }}{(i == 0 ? "  #!" : "")}\n");
        }

        ConfigError error = Assert.Single(Errors(yaml.ToString()));

        Assert.Equal("pods", error.KeyPath);
        Assert.Equal($"{pods} pods and 0 route next hops; a node holds at most {NodeRules.MaxPodsAndNextHops} together (each is a FIB next hop)", error.Problem);
        Assert.Equal(MarkedLine(yaml.ToString()), error.Line);
    }

    [Fact]
    public void A_node_at_the_limits_builds_its_dataplane()
    {
        // Pods in more /24s than the FIB's default 1,024 groups: the dataplane sizes its FIB from the config.
        var yaml = new StringBuilder("""
            node:
              name: node-a
              podCidr: 10.0.0.0/8
              gatewayIp: 10.0.0.1
              mac: 02:00:00:00:01:01
            conntrack: { maxEntries: 4096 }
            pods:

            """);
        for (int i = 0; i < 1500; i++)
        {
            yaml.Append($"  - {{ name: p{i}, ip: 10.{i >> 8}.{i & 0xFF}.2, mac: 02:01:00:00:{i >> 8:x2}:{i & 0xFF:x2} }}\n");
        }

        var dataplane = new NodeDataplane(Valid(yaml.ToString()));

        Assert.Equal(1500, dataplane.Ports.Count);
        Assert.True(dataplane.Fib.V4.GroupCapacity >= 1500);
    }

    [Fact]
    public void Every_weight_the_file_format_accepts_is_one_the_service_table_takes()
    {
        ServiceConfig service = Valid(Node + """
            services:
              - name: web
                clusterIP: 10.96.0.10
                ports: [{ port: 80 }]
                endpoints: [{ ip: 10.244.1.11, weight: 1 }, { ip: 10.244.1.12, weight: 256 }]
            """).Services[0];

        Assert.Equal([NodeConfigParser.MinWeight, NodeConfigParser.MaxWeight], service.Endpoints.Select(static e => e.Weight));
        Assert.Empty(ServiceRules.Problems(service));
        Assert.NotEmpty(ServiceRules.Problems(service with { Endpoints = [service.Endpoints[0] with { Weight = ServiceRules.MaxWeight + 1 }] }));
    }

    [Fact]
    public void Ctl_service_apply_is_checked_against_the_services_already_applied()
    {
        NodeConfig running = Valid(Node + """
            pods:
              - { name: web-1, ip: 10.244.1.11, mac: 02:00:0a:f4:01:0b }
            services:
              - name: web
                clusterIP: 10.96.0.10
                ports: [{ port: 80 }]
                endpoints: [{ ip: 10.244.1.11 }]
            """);
        string document = """
            services:
              - name: other
                clusterIP: 10.96.0.10
                ports:
                  - { port: 80 }  #!
            """;

        ConfigResult result = NodeConfigLoader.ParseServices(document, "ctl service apply", running);

        ConfigError error = Assert.Single(result.Errors);
        Assert.Equal("ctl service apply", error.File);
        Assert.Equal("services[0].ports[0].port", error.KeyPath);
        Assert.Equal("10.96.0.10 TCP/80 is already served by service default/web (applied)", error.Problem);
        Assert.Equal(MarkedLine(document), error.Line);

        // The same frontend in a new version of web itself is no conflict.
        Assert.True(NodeConfigLoader.ParseServices(document.Replace("other", "web", StringComparison.Ordinal), "ctl service apply", running).IsValid);
    }
}
