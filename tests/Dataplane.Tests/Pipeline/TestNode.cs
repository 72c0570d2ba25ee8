using Dataplane.Config;
using Dataplane.Model;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// The node every pipeline test runs: three pods (two of them backends of service "web"), an uplink with
/// a statically resolved next hop (node-b) and an ARP-resolved one (node-c), IPv4 and IPv6.
/// </summary>
internal static class TestNode
{
    public const string GatewayMac = "02:00:00:00:01:01";
    public const string GatewayIp = "10.244.1.1";
    public const string GatewayIp6 = "fd00:10:244:1::1";
    public const string UplinkMac = "02:00:00:00:77:10";
    public const string UplinkIp = "192.168.77.10";
    public const string UplinkIp6 = "fd00:77::10";
    public const string NodeBMac = "02:00:00:00:77:11";
    public const string NodeBIp = "192.168.77.11";
    public const string NodeCIp = "192.168.77.12";
    public const string NodeCMac = "02:00:00:00:77:12";
    public const string Web1Mac = "02:00:0a:f4:01:0b";
    public const string Web1Ip = "10.244.1.11";
    public const string Web1Ip6 = "fd00:10:244:1::11";
    public const string Web2Mac = "02:00:0a:f4:01:0c";
    public const string Web2Ip = "10.244.1.12";
    public const string ClientMac = "02:00:0a:f4:01:14";
    public const string ClientIp = "10.244.1.20";
    public const string ClientIp6 = "fd00:10:244:1::20";
    public const string RemotePodIp = "10.244.2.12";
    public const string RemotePodIp6 = "fd00:10:244:2::12";
    public const string Vip = "10.96.0.10";
    public const string Vip6 = "fd00:96::10";

    public static string Yaml(string services = DefaultServices, string extra = "") => $$"""
        node:
          name: node-a
          podCidr: 10.244.1.0/24
          podCidrV6: fd00:10:244:1::/64
          gatewayIp: {{GatewayIp}}
          gatewayIpV6: {{GatewayIp6}}
          mac: {{GatewayMac}}
          uplink: { interface: up0, ip: {{UplinkIp}}/24, ipV6: {{UplinkIp6}}/64, mac: {{UplinkMac}} }
        pods:
          - { name: web-1, ip: {{Web1Ip}}, ipV6: {{Web1Ip6}}, mac: {{Web1Mac}} }
          - { name: web-2, ip: {{Web2Ip}}, ipV6: fd00:10:244:1::12, mac: {{Web2Mac}} }
          - { name: client, ip: {{ClientIp}}, ipV6: {{ClientIp6}}, mac: {{ClientMac}} }
        routes:
          - { cidr: 10.244.2.0/24, via: {{NodeBIp}}, viaMac: {{NodeBMac}} }
          - { cidr: 10.244.3.0/24, via: {{NodeCIp}} }
          - { cidr: fd00:10:244:2::/64, via: fd00:77::11, viaMac: {{NodeBMac}} }
        services:
        {{services}}
        conntrack:
          maxEntries: 4096
        {{extra}}
        """;

    public const string DefaultServices = """
          - name: web
            clusterIPs: [10.96.0.10, fd00:96::10]
            ports:
              - { name: http, protocol: TCP, port: 80, targetPort: 8080 }
              - { name: dns, protocol: UDP, port: 53, targetPort: 5353 }
            endpoints:
              - { ip: 10.244.1.11 }
              - { ip: 10.244.2.12 }
              - { ip: fd00:10:244:1::11 }
        """;

    public static NodeConfig Config(string services = DefaultServices, string extra = "")
        => NodeConfigLoader.Parse(Yaml(services, extra), "test-node.yaml").ThrowIfInvalid();
}
