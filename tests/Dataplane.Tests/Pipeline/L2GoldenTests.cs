using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>Golden cases for Ethernet input, anti-spoofing and the bridge (pod-to-pod frames not sent to the gateway MAC).</summary>
[Trait("Category", "unit")]
public sealed class L2GoldenTests
{
    /// <summary>To a MAC no pod has: the bridge knows every pod's MAC, so only such a frame is unknown unicast.</summary>
    private static byte[] ClientToNobody() => Frames.Udp4(ClientMac, "02:00:00:00:99:99", ClientIp, Web1Ip, 5000, 6000);

    private static byte[] ClientToWeb1() => Frames.Udp4(ClientMac, Web1Mac, ClientIp, Web1Ip, 5000, 6000);

    private static byte[] Web1ToClient() => Frames.Udp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 6000, 5000);

    private static readonly Dictionary<string, GoldenCase> s_cases = new()
    {
        // Ethernet input
        ["frame shorter than an ethernet header is dropped as truncated"] = new("client",
            static () => ClientToWeb1()[..13], static () => new Dropped("ethernet-input", "truncated")),
        ["vlan-tagged frame is dropped"] = new("client",
            static () => [.. ClientToWeb1()[..12], 0x81, 0x00, 0x00, 0x0A, .. ClientToWeb1()[12..]], static () => new Dropped("ethernet-input", "vlan-tagged")),
        ["vlan tag cut short is dropped as truncated"] = new("client",
            static () => [.. ClientToWeb1()[..12], 0x81, 0x00, 0x00], static () => new Dropped("ethernet-input", "truncated")),
        ["multicast source mac is dropped"] = new("client",
            static () => Frames.Udp4("01:00:5e:00:00:01", Web1Mac, ClientIp, Web1Ip, 5000, 6000), static () => new Dropped("ethernet-input", "source-mac-multicast")),
        ["broadcast source mac is dropped"] = new("uplink",
            static () => Frames.Udp4("ff:ff:ff:ff:ff:ff", UplinkMac, NodeBIp, ClientIp, 5000, 6000), static () => new Dropped("ethernet-input", "source-mac-multicast")),
        ["unknown ethertype (LLDP) is dropped"] = new("client",
            static () => Build.Raw(ClientMac, "01:80:c2:00:00:0e", 0x88CC, new byte[46]), static () => new Dropped("ethernet-input", "unknown-ether-type")),
        ["unknown ethertype (802.3 length field) is dropped"] = new("web-2",
            static () => Build.Raw(Web2Mac, Web1Mac, 0x002E, new byte[46]), static () => new Dropped("ethernet-input", "unknown-ether-type")),
        ["uplink frame addressed to another host is dropped"] = new("uplink",
            static () => Frames.Udp4(NodeBMac, "02:00:00:00:77:99", NodeBIp, ClientIp, 5000, 6000), static () => new Dropped("ethernet-input", "not-for-us")),

        // Anti-spoofing
        ["pod sending from another pod's mac is dropped"] = new("client",
            static () => Frames.Udp4(Web1Mac, Web2Mac, ClientIp, Web2Ip, 5000, 6000), static () => new Dropped("source-guard", "spoofed-mac")),
        ["pod sending from the gateway mac is dropped"] = new("client",
            static () => Frames.Udp4(GatewayMac, Web2Mac, ClientIp, Web2Ip, 5000, 6000), static () => new Dropped("source-guard", "spoofed-mac")),
        ["pod sending from another pod's ipv4 address is dropped"] = new("client",
            static () => Frames.Udp4(ClientMac, Web2Mac, Web1Ip, Web2Ip, 5000, 6000), static () => new Dropped("source-guard", "spoofed-ip4")),
        ["pod sending routed traffic from the gateway ipv4 address is dropped"] = new("client",
            static () => Frames.Udp4(ClientMac, GatewayMac, GatewayIp, RemotePodIp, 5000, 6000), static () => new Dropped("source-guard", "spoofed-ip4")),
        ["pod sending from another pod's ipv6 address is dropped"] = new("client",
            static () => Frames.Udp6(ClientMac, GatewayMac, Web1Ip6, RemotePodIp6, 5000, 6000), static () => new Dropped("source-guard", "spoofed-ip6")),
        ["arp with another pod's sender ip is dropped"] = new("client",
            static () => Frames.ArpRequest(ClientMac, Web1Ip, Web2Ip), static () => new Dropped("source-guard", "spoofed-arp")),
        ["arp with another pod's sender mac is dropped"] = new("client",
            static () => Build.Patch(Frames.ArpRequest(ClientMac, ClientIp, Web2Ip), 14 + 8, Frames.Mac(Web1Mac).GetAddressBytes()),
            static () => new Dropped("source-guard", "spoofed-arp")),
        // Linux derives a pod's link-local address from its MAC (modified EUI-64): 02:00:0a:f4:01:14 -> fe80::aff:fef4:114.
        ["ipv6 from the pod's own link-local address is allowed and bridged"] = new("client",
            static () => Frames.Udp6(ClientMac, Web1Mac, "fe80::aff:fef4:114", "fe80::aff:fef4:10b", 5000, 6000),
            static () => new Output(("web-1", Frames.Udp6(ClientMac, Web1Mac, "fe80::aff:fef4:114", "fe80::aff:fef4:10b", 5000, 6000)))),
        ["ipv6 from another pod's link-local address is dropped"] = new("client",
            static () => Frames.Udp6(ClientMac, Web1Mac, "fe80::aff:fef4:10c", "fe80::aff:fef4:10b", 5000, 6000),
            static () => new Dropped("source-guard", "spoofed-ip6")),
        ["neighbor advertisement for another pod's address is dropped"] = new("client",
            static () => Build.NeighborAdvertisement(ClientMac, "33:33:00:00:00:01", ClientIp6, "ff02::1", Web1Ip6, router: false, solicited: false, @override: true, ClientMac),
            static () => new Dropped("source-guard", "spoofed-neighbor-advertisement")),

        // Bridging
        ["unknown unicast is flooded to every pod port but the ingress one, never the uplink"] = new("client",
            static () => ClientToNobody(), static () => new Output([("web-1", ClientToNobody()), ("web-2", ClientToNobody())], ["bridge/unknown-unicast-flooded"])),
        ["unicast to a pod's mac goes to its port only, before the pod has sent anything (its MAC is static)"] = new("client",
            static () => ClientToWeb1(), static () => new Output(("web-1", ClientToWeb1()))),
        ["unicast to a learned mac goes to its port only"] = new("client",
            static () => ClientToWeb1(), static () => new Output(("web-1", ClientToWeb1())))
        {
            Before = [("web-1", Web1ToClient)],
        },
        ["broadcast is flooded to every pod port but the ingress one"] = new("web-2",
            static () => Frames.Udp4(Web2Mac, "ff:ff:ff:ff:ff:ff", Web2Ip, "10.244.1.255", 68, 67),
            static () => new Output([("web-1", Frames.Udp4(Web2Mac, "ff:ff:ff:ff:ff:ff", Web2Ip, "10.244.1.255", 68, 67)), ("client", Frames.Udp4(Web2Mac, "ff:ff:ff:ff:ff:ff", Web2Ip, "10.244.1.255", 68, 67))], ["bridge/flooded"])),
        ["ipv4 multicast is flooded to every pod port but the ingress one"] = new("web-1",
            static () => Frames.Udp4(Web1Mac, "01:00:5e:00:00:fb", Web1Ip, "224.0.0.251", 5353, 5353),
            static () => new Output([("web-2", Frames.Udp4(Web1Mac, "01:00:5e:00:00:fb", Web1Ip, "224.0.0.251", 5353, 5353)), ("client", Frames.Udp4(Web1Mac, "01:00:5e:00:00:fb", Web1Ip, "224.0.0.251", 5353, 5353))], ["bridge/flooded"])),
        ["frame to a mac learned on the ingress port is not sent back (no hairpin)"] = new("client",
            static () => Frames.Udp4(ClientMac, ClientMac, ClientIp, Web1Ip, 5000, 6000), static () => new Dropped("bridge", "hairpin"))
        {
            Before = [("client", ClientToWeb1)],
        },
        ["ethernet padding is trimmed from a bridged frame"] = new("client",
            static () => Build.Pad(Frames.Udp4(ClientMac, Web1Mac, ClientIp, Web1Ip, 5000, 6000, data: [1]), 60),
            static () => new Output(("web-1", Frames.Udp4(ClientMac, Web1Mac, ClientIp, Web1Ip, 5000, 6000, data: [1]))))
        {
            Before = [("web-1", Web1ToClient)],
        },
        ["broadcast from the uplink is not bridged to the pods"] = new("uplink",
            static () => Frames.Udp4(NodeBMac, "ff:ff:ff:ff:ff:ff", NodeBIp, "192.168.77.255", 5000, 6000), static () => new Dropped("bridge", "uplink-multicast")),
    };

    public static TheoryData<string> Cases => new(s_cases.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Frame_gets_its_golden_verdict(string description) => Golden.Run(s_cases[description]);
}
