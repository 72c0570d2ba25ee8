using Dataplane.Tests.Packets;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// Golden cases for IPv6: header and extension-header validation, routing, hop-limit expiry and the other
/// ICMPv6 errors, echo to the gateway, and Neighbor Discovery (NS for the gateway answered with NA, RA from a
/// pod dropped).
/// </summary>
[Trait("Category", "unit")]
public sealed class Ip6GoldenTests
{
    private const string Web2Ip6 = "fd00:10:244:1::12";
    private const string UnknownPodIp6 = "fd00:10:244:1::99";
    private const string NoRouteIp6 = "fd00:99::1";
    private const string SolicitedGatewayMac = "33:33:ff:00:00:01";
    private const string SolicitedGatewayGroup = "ff02::1:ff00:1";

    private static byte[] Routed(string dst, byte hopLimit = 64, byte[]? data = null) => Frames.Udp6(ClientMac, GatewayMac, ClientIp6, dst, 5000, 6000, data, hopLimit);

    private static byte[] ToRemote() => Routed(RemotePodIp6);

    private static byte[] L3(byte[] frame) => Build.L3(frame);

    private static byte[] Patch(int offset, params byte[] bytes) => Build.Patch(ToRemote(), offset, bytes);

    private static readonly Dictionary<string, GoldenCase> s_cases = new()
    {
        // Header validation (RFC 8200)
        ["ipv6 shorter than 40 bytes is dropped as truncated"] = new("client",
            static () => ToRemote()[..(14 + 39)], static () => new Dropped("ip6-input", "truncated")),
        ["ipv6 ethertype with a version 4 header is dropped"] = new("client",
            static () => Patch(14, 0x45), static () => new Dropped("ip6-input", "not-version6")),
        ["ipv6 with payload length past the end of the frame is dropped"] = new("client",
            static () => Patch(14 + 4, 0x00, 0x40), static () => new Dropped("ip6-input", "payload-length-beyond-frame")),
        ["ipv6 jumbogram is dropped"] = new("client",
            static () => Build.Patch(Build.WithIpv6Extension(ToRemote(), 0, Ipv6HeaderTests.Extension(0, 0)), 14 + 4, 0, 0), static () => new Dropped("ip6-input", "jumbogram")),
        ["ipv6 extension header running past the packet is dropped"] = new("client",
            static () => Build.Patch(Build.WithIpv6Extension(ToRemote(), 0, Ipv6HeaderTests.Extension(0, 0)), 14 + 40 + 1, 0x08), static () => new Dropped("ip6-input", "extension-header-truncated")),
        ["ipv6 with nine extension headers is dropped"] = new("client",
            static () => Enumerable.Range(0, 9).Aggregate(ToRemote(), static (frame, _) => Build.WithIpv6Extension(frame, 60, Ipv6HeaderTests.Extension(0, 0))),
            static () => new Dropped("ip6-input", "too-many-extension-headers")),
        ["ipv6 from a multicast source is dropped"] = new("uplink",
            static () => Frames.Udp6(NodeBMac, UplinkMac, "ff02::1", ClientIp6, 5000, 6000), static () => new Dropped("ip6-input", "bad-source")),
        ["ipv6 to ::1 is dropped"] = new("client",
            static () => Routed("::1"), static () => new Dropped("ip6-input", "bad-destination")),
        ["ipv6 to :: is dropped"] = new("client",
            static () => Routed("::"), static () => new Dropped("ip6-input", "bad-destination")),
        ["udp over ipv6 whose length runs past the packet is dropped"] = new("client",
            static () => Patch(14 + 40 + 4, 0x01, 0x00), static () => new Dropped("ip6-input", "l4-truncated")),
        ["sctp over ipv6 shorter than its common header is dropped"] = new("client",
            static () => Build.Raw(ClientMac, GatewayMac, 0x86DD, Build.Ipv6Packet(ClientIp6, RemotePodIp6, 132, 64, [0x13, 0x88, 0x17, 0x70])),
            static () => new Dropped("ip6-input", "l4-truncated")),

        // Routing
        ["udp to another node's pod goes out the uplink to the static next hop, hop limit decremented"] = new("client",
            static () => ToRemote(),
            static () => new Output(("uplink", Frames.Udp6(UplinkMac, NodeBMac, ClientIp6, RemotePodIp6, 5000, 6000, hopLimit: 63)))),
        ["tcp over ipv6 to a local pod is routed"] = new("client",
            static () => Frames.Tcp6(ClientMac, GatewayMac, ClientIp6, Web1Ip6, 40000, 8080, syn: true),
            static () => new Output(("web-1", Build.Patch(Frames.Tcp6(GatewayMac, Web1Mac, ClientIp6, Web1Ip6, 40000, 8080, syn: true), 14 + 7, 63)))),
        ["udp over ipv6 from another node to a local pod is routed"] = new("uplink",
            static () => Frames.Udp6(NodeBMac, UplinkMac, RemotePodIp6, ClientIp6, 6000, 5000, hopLimit: 30),
            static () => new Output(("client", Frames.Udp6(GatewayMac, ClientMac, RemotePodIp6, ClientIp6, 6000, 5000, hopLimit: 29)))),
        ["ipv6 with a hop-by-hop header is routed with the header intact"] = new("client",
            static () => Build.WithIpv6Extension(Routed(Web2Ip6), 0, Ipv6HeaderTests.Extension(0, 0)),
            static () => new Output(("web-2", Build.WithIpv6Extension(Frames.Udp6(GatewayMac, Web2Mac, ClientIp6, Web2Ip6, 5000, 6000, hopLimit: 63), 0, Ipv6HeaderTests.Extension(0, 0))))),
        ["ipv6 with routing and destination options headers is routed"] = new("client",
            static () => Build.WithIpv6Extension(Build.WithIpv6Extension(ToRemote(), 60, Ipv6HeaderTests.Extension(0, 1)), 43, Ipv6HeaderTests.Extension(0, 0)),
            static () => new Output(("uplink", Build.WithIpv6Extension(Build.WithIpv6Extension(Frames.Udp6(UplinkMac, NodeBMac, ClientIp6, RemotePodIp6, 5000, 6000, hopLimit: 63), 60, Ipv6HeaderTests.Extension(0, 1)), 43, Ipv6HeaderTests.Extension(0, 0))))),
        ["ipv6 first fragment is routed"] = new("client",
            static () => Build.Ipv6Fragment(ClientMac, GatewayMac, ClientIp6, RemotePodIp6, 17, 0, more: true, [0x13, 0x88, 0x17, 0x70, 0x05, 0x00, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8]),
            static () => new Output(("uplink", Build.Ipv6Fragment(UplinkMac, NodeBMac, ClientIp6, RemotePodIp6, 17, 0, more: true, [0x13, 0x88, 0x17, 0x70, 0x05, 0x00, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8], hopLimit: 63)))),
        ["ipv6 later fragment (no l4 header) is routed"] = new("client",
            static () => Build.Ipv6Fragment(ClientMac, GatewayMac, ClientIp6, RemotePodIp6, 17, 160, more: false, [9, 9, 9, 9]),
            static () => new Output(("uplink", Build.Ipv6Fragment(UplinkMac, NodeBMac, ClientIp6, RemotePodIp6, 17, 160, more: false, [9, 9, 9, 9], hopLimit: 63)))),
        ["bytes after the ipv6 payload are trimmed"] = new("client",
            static () => [.. Routed(Web1Ip6), 0, 0, 0, 0, 0, 0],
            static () => new Output(("web-1", Frames.Udp6(GatewayMac, Web1Mac, ClientIp6, Web1Ip6, 5000, 6000, hopLimit: 63)))),
        ["multicast destination sent to the gateway mac is not routed"] = new("client",
            static () => Routed("ff05::1:3"), static () => new Dropped("ip6-lookup", "not-routable")),
        ["link-local destination sent to the gateway mac is not routed"] = new("client",
            static () => Routed("fe80::1"), static () => new Dropped("ip6-lookup", "not-routable")),

        // ICMPv6 errors (RFC 4443)
        ["hop limit 1 is answered with time exceeded from the gateway quoting the packet"] = new("client",
            static () => Routed(RemotePodIp6, hopLimit: 1),
            static () => new Output([("client", Build.Icmp6Error(GatewayMac, ClientMac, GatewayIp6, ClientIp6, 3, 0, L3(Routed(RemotePodIp6, hopLimit: 1))))], ["icmp-error/errors-sent"])),
        ["hop limit 1 from the uplink is answered from the uplink address"] = new("uplink",
            static () => Frames.Udp6(NodeBMac, UplinkMac, RemotePodIp6, ClientIp6, 6000, 5000, hopLimit: 1),
            static () => new Output([("uplink", Build.Icmp6Error(UplinkMac, NodeBMac, UplinkIp6, RemotePodIp6, 3, 0, L3(Frames.Udp6(NodeBMac, UplinkMac, RemotePodIp6, ClientIp6, 6000, 5000, hopLimit: 1))))], ["icmp-error/errors-sent"])),
        ["no ipv6 route is answered with destination unreachable (no route)"] = new("client",
            static () => Routed(NoRouteIp6),
            static () => new Output([("client", Build.Icmp6Error(GatewayMac, ClientMac, GatewayIp6, ClientIp6, 1, 0, L3(Routed(NoRouteIp6))))], ["icmp-error/errors-sent"])),
        ["ipv6 address in the pod cidr with no pod is answered with address unreachable"] = new("client",
            static () => Routed(UnknownPodIp6),
            static () => new Output([("client", Build.Icmp6Error(GatewayMac, ClientMac, GatewayIp6, ClientIp6, 1, 3, L3(Routed(UnknownPodIp6))))], ["icmp-error/errors-sent"])),
        ["ipv6 over the egress mtu is answered with packet too big and the mtu"] = new("client",
            static () => Routed(Web1Ip6, data: new byte[1400]),
            static () => new Output([("client", Build.Icmp6Error(GatewayMac, ClientMac, GatewayIp6, ClientIp6, 2, 0, L3(Routed(Web1Ip6, data: new byte[1400]))[..1232], rest: 1400))], ["icmp-error/errors-sent"]))
        {
            Config = static () => TestConfigs.WithMtu(1400),
        },
        ["udp over ipv6 to the gateway is answered with port unreachable"] = new("client",
            static () => Routed(GatewayIp6),
            static () => new Output([("client", Build.Icmp6Error(GatewayMac, ClientMac, GatewayIp6, ClientIp6, 1, 4, L3(Routed(GatewayIp6))))], ["icmp-error/errors-sent"])),
        ["icmpv6 error with hop limit 1 gets no error back"] = new("client",
            static () => Build.Icmp6Error(ClientMac, GatewayMac, ClientIp6, RemotePodIp6, 1, 4, L3(Frames.Udp6(Web1Mac, ClientMac, RemotePodIp6, ClientIp6, 53, 5000)), hopLimit: 1),
            static () => new Dropped("icmp-error", "not-answerable")),

        // Echo to the gateway
        ["ping6 to the gateway is answered from the gateway"] = new("client",
            static () => Build.Icmp6Echo(ClientMac, GatewayMac, ClientIp6, GatewayIp6, id: 4, seq: 9, hopLimit: 50),
            static () => new Output([("client", Build.Icmp6Echo(GatewayMac, ClientMac, GatewayIp6, ClientIp6, reply: true, id: 4, seq: 9, hopLimit: 64))], ["ip-local/echo-replies"])),
        ["ping6 to the uplink address from the uplink is answered"] = new("uplink",
            static () => Build.Icmp6Echo(NodeBMac, UplinkMac, "fd00:77::11", UplinkIp6),
            static () => new Output([("uplink", Build.Icmp6Echo(UplinkMac, NodeBMac, UplinkIp6, "fd00:77::11", reply: true))], ["ip-local/echo-replies"])),
        ["ping6 to the gateway with a bad checksum is dropped"] = new("client",
            static () => Build.Patch(Build.Icmp6Echo(ClientMac, GatewayMac, ClientIp6, GatewayIp6), 14 + 40 + 2, 0, 0), static () => new Dropped("ip-local", "bad-icmp-checksum")),

        // Neighbor Discovery (RFC 4861)
        ["neighbor solicitation for the gateway is answered with a solicited router advertisement of the gateway mac"] = new("client",
            static () => Build.NeighborSolicitation(ClientMac, SolicitedGatewayMac, ClientIp6, SolicitedGatewayGroup, GatewayIp6),
            static () => new Output([("client", Build.NeighborAdvertisement(GatewayMac, ClientMac, GatewayIp6, ClientIp6, GatewayIp6, router: true, solicited: true, @override: true, GatewayMac))], ["ndp/advertisements-sent"])),
        ["unicast neighbor solicitation for the gateway (reachability check) is answered"] = new("web-1",
            static () => Build.NeighborSolicitation(Web1Mac, GatewayMac, Web1Ip6, GatewayIp6, GatewayIp6),
            static () => new Output([("web-1", Build.NeighborAdvertisement(GatewayMac, Web1Mac, GatewayIp6, Web1Ip6, GatewayIp6, router: true, solicited: true, @override: true, GatewayMac))], ["ndp/advertisements-sent"])),
        ["duplicate address detection for the gateway address is answered to all nodes, unsolicited"] = new("client",
            static () => Build.NeighborSolicitation(ClientMac, SolicitedGatewayMac, "::", SolicitedGatewayGroup, GatewayIp6, option: false),
            static () => new Output([("client", Build.NeighborAdvertisement(GatewayMac, "33:33:00:00:00:01", GatewayIp6, "ff02::1", GatewayIp6, router: true, solicited: false, @override: true, GatewayMac))], ["ndp/advertisements-sent"])),
        ["neighbor solicitation for the uplink address on the uplink is answered from the uplink"] = new("uplink",
            static () => Build.NeighborSolicitation(NodeBMac, "33:33:ff:00:00:10", "fd00:77::11", "ff02::1:ff00:10", UplinkIp6),
            static () => new Output([("uplink", Build.NeighborAdvertisement(UplinkMac, NodeBMac, UplinkIp6, "fd00:77::11", UplinkIp6, router: true, solicited: true, @override: true, UplinkMac))], ["ndp/advertisements-sent"])),
        ["neighbor solicitation between pods is bridged"] = new("client",
            static () => Build.NeighborSolicitation(ClientMac, "33:33:ff:00:00:11", ClientIp6, "ff02::1:ff00:11", Web1Ip6),
            static () => new Output([("web-1", Build.NeighborSolicitation(ClientMac, "33:33:ff:00:00:11", ClientIp6, "ff02::1:ff00:11", Web1Ip6)), ("web-2", Build.NeighborSolicitation(ClientMac, "33:33:ff:00:00:11", ClientIp6, "ff02::1:ff00:11", Web1Ip6))], ["bridge/flooded"])),
        ["neighbor solicitation with hop limit below 255 is dropped"] = new("client",
            static () => Build.NeighborSolicitation(ClientMac, SolicitedGatewayMac, ClientIp6, SolicitedGatewayGroup, GatewayIp6, hopLimit: 64), static () => new Dropped("ndp", "bad-hop-limit")),
        ["neighbor solicitation with a bad checksum is dropped"] = new("client",
            static () => Build.Patch(Build.NeighborSolicitation(ClientMac, SolicitedGatewayMac, ClientIp6, SolicitedGatewayGroup, GatewayIp6), 14 + 40 + 3, 0x55), static () => new Dropped("ndp", "invalid")),
        ["router advertisement from a pod is dropped"] = new("web-2",
            static () => Build.RouterAdvertisement(Web2Mac, "fe80::aff:fef4:10c"), static () => new Dropped("ndp", "rogue-router-message")),
        ["router solicitation from a pod is dropped: the dataplane sends no advertisements"] = new("client",
            static () => Build.RouterSolicitation(ClientMac, "fe80::aff:fef4:114"), static () => new Dropped("ndp", "router-solicitation-ignored")),
    };

    public static TheoryData<string> Cases => new(s_cases.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Frame_gets_its_golden_verdict(string description) => Golden.Run(s_cases[description]);
}
