using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary>node.uplink's gateway, gatewayMac and gatewayV6, and node.hostPort: what they accept, refuse and write back.</summary>
[Trait("Category", "unit")]
public sealed class UplinkHostPortConfigTests
{
    private const string Uplink = "uplink: { interface: up0, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10";
    private const string Uplink6 = "uplink: { interface: up0, ip: 192.168.77.10/24, ipV6: 'fd00:77::10/64', mac: 02:00:00:00:77:10";

    private static string Node(string uplinkKeys = "", string extra = "", bool v6 = false, string pods = "")
        => "node:\n  name: node-a\n  podCidr: 10.244.1.0/24\n  gatewayIp: 10.244.1.1\n  mac: 02:00:00:00:01:01\n"
            + $"  {(v6 ? Uplink6 : Uplink)}{uplinkKeys} }}\n{extra}{pods}";

    [Theory]
    [InlineData(", gateway: 192.168.78.1 }  #!", "node.uplink.gateway", "not on the uplink's subnet 192.168.77.0/24")]
    [InlineData(", gateway: 192.168.77.10 }  #!", "node.uplink.gateway", "is node.uplink.ip itself")]
    [InlineData(", gateway: 192.168.77.255 }  #!", "node.uplink.gateway", "broadcast address of the uplink's subnet")]
    [InlineData(", gateway: 'fd00:77::1' }  #!", "node.uplink.gateway", "use gatewayV6")]
    [InlineData(", gatewayMac: 02:00:00:00:77:01 }  #!", "node.uplink.gatewayMac", "needs node.uplink.gateway")]
    [InlineData(", gateway: 192.168.77.1, gatewayMac: 03:00:00:00:77:01 }  #!", "node.uplink.gatewayMac", "group (multicast) MAC")]
    [InlineData(", gateway: 192.168.77.1, gatewayMac: 02:00:00:00:77:10 }  #!", "node.uplink.gatewayMac", "is node.uplink.mac")]
    [InlineData(", gatewayV6: 'fd00:77::1' }  #!", "node.uplink.gatewayV6", "needs node.uplink.ipV6")]
    [InlineData(", gatewaxy: 192.168.77.1 }  #!", "node.uplink.gatewaxy", "did you mean 'gateway'?")]
    public void Bad_gateway_is_one_error_at_its_line(string uplinkKeys, string keyPath, string fragment)
    {
        string yaml = Node(uplinkKeys.Replace(" }  #!", "", StringComparison.Ordinal)).TrimEnd('\n').Replace(" }", " }  #!", StringComparison.Ordinal) + "\n";
        ConfigError error = Assert.Single(Errors(yaml));
        Assert.Equal(keyPath, error.KeyPath);
        Assert.Contains(fragment, error.Problem, StringComparison.Ordinal);
        Assert.Equal(MarkedLine(yaml), error.Line);
        Assert.Matches(@"^node\.yaml:6:\d+: node\.uplink\.", error.ToString());
    }

    [Fact]
    public void Ipv6_gateway_off_the_uplink_subnet_is_refused_but_a_link_local_one_is_taken()
    {
        ConfigError error = Assert.Single(Errors(Node(", gatewayV6: 'fd00:78::1'", v6: true)));
        Assert.Equal("node.uplink.gatewayV6", error.KeyPath);
        Assert.Contains("neither on the uplink's subnet fd00:77::/64", error.Problem, StringComparison.Ordinal);

        NodeConfig config = Valid(Node(", gateway: 192.168.77.1, gatewayMac: 02:00:00:00:77:01, gatewayV6: 'fe80::1'", v6: true));
        Assert.Equal(Ip4Address.Parse("192.168.77.1"), config.Node.Uplink!.Gateway);
        Assert.Equal(MacAddress.Parse("02:00:00:00:77:01"), config.Node.Uplink.GatewayMac);
        Assert.Equal(Ip6Address.Parse("fe80::1"), config.Node.Uplink.GatewayV6);
    }

    [Fact]
    public void Host_port_takes_its_defaults_and_is_off_when_absent()
    {
        Assert.Null(Valid(Node()).Node.HostPort);
        Assert.Equal(new HostPortConfig("dp-host", MacAddress.Parse("0a:58:c0:a8:4d:0a")), Valid(Node(extra: "  hostPort: {}\n")).Node.HostPort);
        Assert.Equal(new HostPortConfig("dp-host", MacAddress.Parse("0a:58:c0:a8:4d:0a")), Valid(Node(extra: "  hostPort:\n")).Node.HostPort);
        Assert.Equal(new HostPortConfig("node0", MacAddress.Parse("02:00:00:00:aa:01")), Valid(Node(extra: "  hostPort: { name: node0, mac: 02:00:00:00:aa:01 }\n")).Node.HostPort);
    }

    [Theory]
    [InlineData("  hostPort: { name: averyverylongname }  #!\n", "", "node.hostPort.name", "1..15 characters")]
    [InlineData("  hostPort: { name: uplink }  #!\n", "", "node.hostPort.name", "the uplink port's name")]
    [InlineData("  hostPort: { mac: 02:00:00:00:01:01 }  #!\n", "", "node.hostPort.mac", "is node.mac")]
    [InlineData("  hostPort: { mac: 02:00:00:00:77:10 }  #!\n", "", "node.hostPort.mac", "is node.uplink.mac")]
    [InlineData("  hostPort: { nmae: x }  #!\n", "", "node.hostPort.nmae", "did you mean 'name'?")]
    [InlineData("  hostPort: { name: web }  #!\n", "pods:\n  - { name: web, ip: 10.244.1.11, mac: 02:00:00:00:aa:02 }\n", "node.hostPort.name", "is also pods[0].name")]
    [InlineData("  hostPort: { }  #!\n", "pods:\n  - { name: web, ip: 10.244.1.11, mac: '0a:58:c0:a8:4d:0a' }\n", "node.hostPort", "is also pods[0].mac")]
    public void Bad_host_port_is_one_error_at_its_line(string hostPort, string pods, string keyPath, string fragment)
    {
        string yaml = Node(extra: hostPort, pods: pods);
        ConfigError error = Assert.Single(Errors(yaml));
        Assert.Equal(keyPath, error.KeyPath);
        Assert.Contains(fragment, error.Problem, StringComparison.Ordinal);
        Assert.Equal(MarkedLine(yaml), error.Line);
    }

    [Fact]
    public void Host_port_needs_an_uplink()
    {
        string yaml = "node:\n  name: node-a\n  podCidr: 10.244.1.0/24\n  gatewayIp: 10.244.1.1\n  mac: 02:00:00:00:01:01\n  hostPort: { name: dp-host }  #!\n";
        ConfigError error = Assert.Single(Errors(yaml));
        Assert.Equal("node.hostPort", error.KeyPath);
        Assert.Contains("needs node.uplink", error.Problem, StringComparison.Ordinal);
        Assert.Equal(MarkedLine(yaml), error.Line);
    }

    [Fact]
    public void Writer_writes_the_new_keys_back_to_the_same_config()
    {
        NodeConfig config = Valid(Node(", gateway: 192.168.77.1, gatewayMac: 02:00:00:00:77:01, gatewayV6: 'fd00:77::1'", extra: "  hostPort: { name: dp-host }\n", v6: true));
        string yaml = NodeConfigWriter.Write(config);
        Assert.Contains("\n    gateway: 192.168.77.1\n", yaml, StringComparison.Ordinal);
        Assert.Contains("\n  hostPort:\n    name: \"dp-host\"\n    mac: 0a:58:c0:a8:4d:0a\n", yaml, StringComparison.Ordinal);
        Assert.Equal(config with { Source = "" }, Valid(yaml) with { Source = "" });
    }
}
