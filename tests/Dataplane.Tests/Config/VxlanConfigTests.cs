using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;
using static Dataplane.Tests.Config.ConfigYaml;

namespace Dataplane.Tests.Config;

/// <summary>node.vxlan and VXLAN routes (<c>{ cidr, vtep, vtepMac }</c>): defaults, the derived pod MTU, and one error per broken rule.</summary>
[Trait("Category", "unit")]
public sealed class VxlanConfigTests
{
    private const string VxlanNode = """
        node:
          name: node-a
          podCidr: 10.244.1.0/24
          gatewayIp: 10.244.1.1
          mac: 02:00:00:00:01:01
          uplink: { interface: up0, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10 }
          vxlan: { mac: 0a:00:00:00:01:00 }

        """;

    [Fact]
    public void Vxlan_defaults_are_flannels_and_the_pod_mtu_leaves_room_for_the_outer_headers()
    {
        NodeConfig config = Valid(VxlanNode + "routes:\n  - { cidr: 10.244.2.0/24, vtep: 192.168.77.11, vtepMac: 0a:00:00:00:02:00 }\n");

        Assert.Equal(new VxlanConfig(1, 8472, MacAddress.Parse("0a:00:00:00:01:00")), config.Node.Vxlan);
        Assert.Equal(1450, config.Node.Mtu);
        RouteConfig route = Assert.Single(config.Routes);
        Assert.True(route.IsVxlan);
        Assert.Equal(IpAddress.Parse("192.168.77.11"), route.Via);
        Assert.Equal(MacAddress.Parse("0a:00:00:00:02:00"), route.VtepMac);
        Assert.Null(route.ViaMac);
    }

    [Fact]
    public void Vxlan_settings_and_routes_round_trip_through_the_writer()
    {
        NodeConfig config = Valid(VxlanNode.Replace("vxlan: { mac: 0a:00:00:00:01:00 }", "vxlan: { vni: 7, port: 4789, mac: 0a:00:00:00:01:00 }", StringComparison.Ordinal)
            + "routes:\n  - { cidr: 10.244.2.0/24, vtep: 192.168.77.11, vtepMac: 0a:00:00:00:02:00 }\n  - { cidr: 10.244.3.0/24, via: 192.168.77.12 }\n");

        Assert.Equal(new VxlanConfig(7, 4789, MacAddress.Parse("0a:00:00:00:01:00")), config.Node.Vxlan);
        Assert.Equal(config with { Source = "" }, Valid(NodeConfigWriter.Write(config)) with { Source = "" });
    }

    [Fact]
    public void An_explicit_pod_mtu_that_fits_the_tunnel_is_kept()
    {
        NodeConfig config = Valid(VxlanNode.Replace("  mac: 02:00:00:00:01:01\n", "  mac: 02:00:00:00:01:01\n  mtu: 1400\n", StringComparison.Ordinal));

        Assert.Equal(1400, config.Node.Mtu);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Invalid_vxlan_config_reports_one_error_at_the_offending_line(string yaml, string keyPath, string fragment)
    {
        ConfigError error = Assert.Single(Errors(yaml));

        Assert.Equal(keyPath, error.KeyPath);
        Assert.Contains(fragment, error.Problem, StringComparison.Ordinal);
        Assert.Equal(MarkedLine(yaml), error.Line);
    }

    private const string Route = "routes:\n  - { cidr: 10.244.2.0/24, vtep: 192.168.77.11, vtepMac: 0a:00:00:00:02:00 }\n";

    public static TheoryData<string, string, string> Cases() => new()
    {
        { VxlanNode.Replace("vxlan: { mac: 0a:00:00:00:01:00 }", "vxlan: { vni: 16777216, mac: 0a:00:00:00:01:00 }  #!", StringComparison.Ordinal), "node.vxlan.vni", "out of range 0..16777215" },
        { VxlanNode.Replace("vxlan: { mac: 0a:00:00:00:01:00 }", "vxlan: { port: 0, mac: 0a:00:00:00:01:00 }  #!", StringComparison.Ordinal), "node.vxlan.port", "out of range 1..65535" },
        { VxlanNode.Replace("vxlan: { mac: 0a:00:00:00:01:00 }", "vxlan: { vni: 1 }  #!", StringComparison.Ordinal), "node.vxlan.mac", "required key 'mac' is missing" },
        { VxlanNode.Replace("vxlan: { mac: 0a:00:00:00:01:00 }", "vxlan: { mac: 01:00:5e:00:00:01 }  #!", StringComparison.Ordinal), "node.vxlan.mac", "group (multicast) MAC" },
        { VxlanNode.Replace("  uplink: { interface: up0, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10 }\n", "", StringComparison.Ordinal).Replace("vxlan: {", "vxlan: {  #!", StringComparison.Ordinal).Replace("{  #! mac: 0a:00:00:00:01:00 }", "{ mac: 0a:00:00:00:01:00 }  #!", StringComparison.Ordinal), "node.vxlan", "needs node.uplink" },
        { VxlanNode.Replace("  mac: 02:00:00:00:01:01\n", "  mac: 02:00:00:00:01:01\n  mtu: 1500  #!\n", StringComparison.Ordinal), "node.mtu", "1500 - 50 (outer headers) = 1450" },
        { Node + "routes:\n  - { cidr: 10.244.2.0/24, vtep: 192.168.77.11, vtepMac: 0a:00:00:00:02:00 }  #!\n", "routes[0].vtep", "needs node.vxlan" },
        { VxlanNode + "routes:\n  - { cidr: 10.244.2.0/24, vtep: 192.168.78.11, vtepMac: 0a:00:00:00:02:00 }  #!\n", "routes[0].vtep", "not on the uplink's subnet 192.168.77.0/24" },
        { VxlanNode + "routes:\n  - { cidr: 10.244.2.0/24, vtep: 192.168.77.10, vtepMac: 0a:00:00:00:02:00 }  #!\n", "routes[0].vtep", "node.uplink.ip itself" },
        { VxlanNode + "routes:\n  - { cidr: 10.244.2.0/24, vtep: 'fd00:77::11', vtepMac: 0a:00:00:00:02:00 }  #!\n", "routes[0].vtep", "VXLAN runs over the uplink's IPv4" },
        { VxlanNode + "routes:\n  - { cidr: 10.244.2.0/24, vtep: 192.168.77.11 }  #!\n", "routes[0].vtepMac", "required key 'vtepMac' is missing" },
        { VxlanNode + "routes:\n  - { cidr: 10.244.2.0/24, vtep: 192.168.77.11, vtepMac: 0a:00:00:00:01:00 }  #!\n", "routes[0].vtepMac", "this node's own tunnel endpoint" },
        { VxlanNode + "routes:\n  - { cidr: 10.244.2.0/24, vtep: 192.168.77.11, via: 192.168.77.11, vtepMac: 0a:00:00:00:02:00 }  #!\n", "routes[0].via", "not both" },
        { VxlanNode + "routes:\n  - { cidr: 10.244.2.0/24, vtep: 192.168.77.11, vtepMac: 0a:00:00:00:02:00, viaMac: 02:00:00:00:77:11 }  #!\n", "routes[0].viaMac", "vtepMac" },
        { VxlanNode + Route + "  - { cidr: 10.244.1.0/24, vtep: 192.168.77.12, vtepMac: 0a:00:00:00:03:00 }  #!\n", "routes[1].cidr", "shadow this node's own pods" },
    };
}
