using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// Golden cases for IPv4: header validation, routing (to a local pod, to another node, from the uplink),
/// traffic for the dataplane's own addresses, and the ICMP errors routing answers with.
/// </summary>
[Trait("Category", "unit")]
public sealed class Ip4GoldenTests
{
    private const string UnknownPodIp = "10.244.1.99";
    private const string NoRouteIp = "10.99.0.1";

    /// <summary>A UDP datagram from the client to <paramref name="dst"/>, sent to the gateway MAC (routed).</summary>
    private static byte[] Routed(string dst, byte ttl = 64, byte[]? data = null) => Frames.Udp4(ClientMac, GatewayMac, ClientIp, dst, 5000, 6000, data, ttl);

    private static byte[] ToRemote() => Routed(RemotePodIp);

    /// <summary>The start of a UDP datagram for a first fragment: a header claiming 1008 bytes, then 16 of them.</summary>
    private static byte[] FirstFragmentPayload() => [0x13, 0x88, 0x17, 0x70, 0x03, 0xF0, 0x12, 0x34, .. Enumerable.Range(0, 16).Select(static i => (byte)i)];

    private static readonly byte[] s_laterFragmentPayload = [.. Enumerable.Range(100, 24).Select(static i => (byte)i)];

    private static readonly byte[] s_options = [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]; // router alert, NOP, NOP, NOP, EOL

    private static readonly Dictionary<string, GoldenCase> s_cases = new()
    {
        // Header validation (RFC 1812 §5.2.2)
        ["ipv4 shorter than 20 bytes is dropped as truncated"] = new("client",
            static () => Build.Raw(ClientMac, GatewayMac, 0x0800, Build.L3(ToRemote())[..19]), static () => new Dropped("ip4-input", "truncated")),
        ["ipv4 ethertype with a version 6 header is dropped"] = new("client",
            static () => Build.PatchIpv4(ToRemote(), 0, 0x65), static () => new Dropped("ip4-input", "not-version4")),
        ["ipv4 with ihl below 5 is dropped"] = new("client",
            static () => Build.Patch(ToRemote(), 14, 0x44), static () => new Dropped("ip4-input", "header-length-too-small")),
        ["ipv4 with ihl past the end of the frame is dropped"] = new("client",
            static () => Build.Patch(ToRemote(), 14, 0x4F), static () => new Dropped("ip4-input", "header-length-beyond-frame")),
        ["ipv4 with total length below the header is dropped"] = new("client",
            static () => Build.PatchIpv4(ToRemote(), 2, 0, 19), static () => new Dropped("ip4-input", "total-length-too-small")),
        ["ipv4 with total length past the end of the frame is dropped"] = new("client",
            static () => Build.PatchIpv4(ToRemote(), 2, 0, 200), static () => new Dropped("ip4-input", "total-length-beyond-frame")),
        ["ipv4 with a bad header checksum is dropped"] = new("client",
            static () => Build.Patch(ToRemote(), 24, 0xDE, 0xAD), static () => new Dropped("ip4-input", "bad-checksum")),
        ["ipv4 from 127.0.0.1 is dropped"] = new("uplink",
            static () => Frames.Udp4(NodeBMac, UplinkMac, "127.0.0.1", ClientIp, 5000, 6000), static () => new Dropped("ip4-input", "bad-source")),
        ["ipv4 from 0.0.0.0/8 is dropped"] = new("uplink",
            static () => Frames.Udp4(NodeBMac, UplinkMac, "0.1.2.3", ClientIp, 5000, 6000), static () => new Dropped("ip4-input", "bad-source")),
        ["ipv4 from a multicast address is dropped"] = new("uplink",
            static () => Frames.Udp4(NodeBMac, UplinkMac, "224.0.0.9", ClientIp, 5000, 6000), static () => new Dropped("ip4-input", "bad-source")),
        ["ipv4 from 255.255.255.255 is dropped"] = new("uplink",
            static () => Frames.Udp4(NodeBMac, UplinkMac, "255.255.255.255", ClientIp, 5000, 6000), static () => new Dropped("ip4-input", "bad-source")),
        ["ipv4 to 127.0.0.1 is dropped"] = new("client",
            static () => Routed("127.0.0.1"), static () => new Dropped("ip4-input", "bad-destination")),
        ["ipv4 to 0.0.0.0 is dropped"] = new("client",
            static () => Routed("0.0.0.0"), static () => new Dropped("ip4-input", "bad-destination")),
        ["udp whose length field runs past the datagram is dropped"] = new("client",
            static () => Build.Patch(ToRemote(), 14 + 20 + 4, 0x00, 0xFF), static () => new Dropped("ip4-input", "l4-truncated")),
        ["udp whose length field is below 8 is dropped"] = new("client",
            static () => Build.Patch(ToRemote(), 14 + 20 + 4, 0x00, 0x07), static () => new Dropped("ip4-input", "l4-truncated")),
        ["tcp whose data offset runs past the segment is dropped"] = new("client",
            static () => Build.Patch(Frames.Tcp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 40000, 80, syn: true), 14 + 20 + 12, 0xF0),
            static () => new Dropped("ip4-input", "l4-truncated")),
        ["tcp cut short after 12 bytes is dropped"] = new("client",
            static () => Build.Ipv4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 6, Frames.Tcp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 40000, 80, syn: true)[34..46]),
            static () => new Dropped("ip4-input", "l4-truncated")),
        ["icmp shorter than its 8-byte header is dropped"] = new("client",
            static () => Build.Ipv4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 1, [8, 0, 0xF7, 0xFF]), static () => new Dropped("ip4-input", "l4-truncated")),
        ["sctp shorter than its 12-byte common header is dropped"] = new("client",
            static () => Build.Ipv4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 132, [0x13, 0x88]), static () => new Dropped("ip4-input", "l4-truncated")),

        // Routing
        ["udp to a local pod is routed: macs rewritten, ttl decremented, checksums valid"] = new("client",
            static () => Routed(Web1Ip),
            static () => new Output(("web-1", Frames.Udp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, 5000, 6000, ttl: 63)))),
        ["tcp to a local pod is routed"] = new("client",
            static () => Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Web2Ip, 40000, 8080, syn: true, ttl: 17),
            static () => new Output(("web-2", Frames.Tcp4(GatewayMac, Web2Mac, ClientIp, Web2Ip, 40000, 8080, syn: true, ttl: 16)))),
        ["icmp echo to a local pod is routed"] = new("client",
            static () => Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, Web1Ip, ttl: 2),
            static () => new Output(("web-1", Frames.Icmp4Echo(GatewayMac, Web1Mac, ClientIp, Web1Ip, ttl: 1)))),
        ["udp to another node's pod goes out the uplink to its next hop"] = new("client",
            static () => ToRemote(),
            static () => new Output(("uplink", Frames.Udp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, 5000, 6000, ttl: 63)))),
        ["udp from another node to a local pod is routed from the uplink"] = new("uplink",
            static () => Frames.Udp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 6000, 5000),
            static () => new Output(("client", Frames.Udp4(GatewayMac, ClientMac, RemotePodIp, ClientIp, 6000, 5000, ttl: 63)))),
        ["ipv4 with options is forwarded with its options intact"] = new("client",
            static () => Build.WithIpv4Options(Routed(Web1Ip), s_options),
            static () => new Output(("web-1", Build.WithIpv4Options(Frames.Udp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, 5000, 6000, ttl: 63), s_options)))),
        ["first fragment (its l4 header tracked) is routed"] = new("client",
            static () => Build.Ipv4Fragment(ClientMac, GatewayMac, ClientIp, RemotePodIp, 17, 77, more: true, 0, FirstFragmentPayload()),
            static () => new Output([("uplink", Build.Ipv4Fragment(UplinkMac, NodeBMac, ClientIp, RemotePodIp, 17, 77, more: true, 0, FirstFragmentPayload(), ttl: 63))], ["conntrack/new-flows"])),
        ["later fragment (no l4 header: conntrack leaves it untracked) is routed"] = new("client",
            static () => Build.Ipv4Fragment(ClientMac, GatewayMac, ClientIp, RemotePodIp, 17, 77, more: false, 3, s_laterFragmentPayload),
            static () => new Output([("uplink", Build.Ipv4Fragment(UplinkMac, NodeBMac, ClientIp, RemotePodIp, 17, 77, more: false, 3, s_laterFragmentPayload, ttl: 63))], ["conntrack/untracked"])),
        ["ethernet padding is trimmed from a routed frame"] = new("client",
            static () => Build.Pad(Routed(Web1Ip, data: [7]), 60),
            static () => new Output(("web-1", Frames.Udp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, 5000, 6000, [7], ttl: 63)))),
        ["multicast destination sent to the gateway mac is not routed"] = new("client",
            static () => Routed("224.0.0.5"), static () => new Dropped("ip4-lookup", "not-routable")),
        ["limited broadcast sent to the gateway mac is not routed"] = new("client",
            static () => Routed("255.255.255.255"), static () => new Dropped("ip4-lookup", "not-routable")),

        // Service traffic (conntrack DNAT on the way in, un-DNAT on the way back)
        ["tcp syn to the service vip is dnatted to its backend and routed"] = new("client",
            static () => Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, syn: true),
            static () => new Output([("web-1", Frames.Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, 40000, 8080, syn: true, ttl: 63))], ["conntrack/new-flows", "conntrack/service-flows"]))
        {
            Config = TestConfigs.OneBackend,
        },
        ["backend's reply straight to the client's mac is bridged with the vip restored"] = new("web-1",
            static () => Frames.Tcp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 8080, 40000, syn: true, ack: true, seq: 7000, ackNumber: 1001),
            static () => new Output(("client", Frames.Tcp4(Web1Mac, ClientMac, Vip, ClientIp, 80, 40000, syn: true, ack: true, seq: 7000, ackNumber: 1001))))
        {
            Config = TestConfigs.OneBackend,
            Before = [("client", static () => Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, syn: true))],
        },
        ["tcp to the vip that is not a syn and matches no connection is dropped"] = new("client",
            static () => Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, ack: true, data: [1, 2, 3]),
            static () => new Dropped("conntrack", "midstream-to-service"))
        {
            Config = TestConfigs.OneBackend,
        },

        // The dataplane's own addresses
        ["ping to the gateway is answered from the gateway with ttl 64"] = new("client",
            static () => Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, GatewayIp, id: 99, seq: 3, ttl: 50),
            static () => new Output([("client", Frames.Icmp4Echo(GatewayMac, ClientMac, GatewayIp, ClientIp, id: 99, seq: 3, ttl: 64, reply: true))], ["ip-local/echo-replies"])),
        ["ping to the gateway with ttl 1 is answered (it is not forwarded)"] = new("client",
            static () => Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, GatewayIp, ttl: 1),
            static () => new Output([("client", Frames.Icmp4Echo(GatewayMac, ClientMac, GatewayIp, ClientIp, ttl: 64, reply: true))], ["ip-local/echo-replies"])),
        ["padded ping to the gateway is answered without the padding"] = new("web-1",
            static () => Build.Pad(Frames.Icmp4Echo(Web1Mac, GatewayMac, Web1Ip, GatewayIp, payload: 2), 60),
            static () => new Output([("web-1", Frames.Icmp4Echo(GatewayMac, Web1Mac, GatewayIp, Web1Ip, payload: 2, reply: true))], ["ip-local/echo-replies"])),
        ["ping to the uplink ip from the uplink is answered from the uplink"] = new("uplink",
            static () => Frames.Icmp4Echo(NodeBMac, UplinkMac, NodeBIp, UplinkIp, ttl: 63),
            static () => new Output([("uplink", Frames.Icmp4Echo(UplinkMac, NodeBMac, UplinkIp, NodeBIp, ttl: 64, reply: true))], ["ip-local/echo-replies"])),
        ["ping to the gateway ip from the uplink is answered out the uplink"] = new("uplink",
            static () => Frames.Icmp4Echo(NodeBMac, UplinkMac, NodeBIp, GatewayIp),
            static () => new Output([("uplink", Frames.Icmp4Echo(UplinkMac, NodeBMac, GatewayIp, NodeBIp, reply: true))], ["ip-local/echo-replies"])),
        ["ping to the gateway with a bad icmp checksum is dropped"] = new("client",
            static () => Build.Patch(Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, GatewayIp), 14 + 20 + 2, 0x00, 0x01), static () => new Dropped("ip-local", "bad-icmp-checksum")),
        ["icmp timestamp request to the gateway is dropped"] = new("client",
            static () => Build.Ipv4(ClientMac, GatewayMac, ClientIp, GatewayIp, 1, Build.IcmpMessage(13, 0, 0x00070001, new byte[12])),
            static () => new Dropped("ip-local", "icmp-not-echo")),
        ["tcp to the gateway is dropped: nothing listens there"] = new("client",
            static () => Frames.Tcp4(ClientMac, GatewayMac, ClientIp, GatewayIp, 40000, 22, syn: true), static () => new Dropped("ip-local", "protocol-not-served")),
        ["fragment to the gateway is dropped: no reassembly"] = new("client",
            static () => Build.Ipv4Fragment(ClientMac, GatewayMac, ClientIp, GatewayIp, 1, 5, more: true, 0, Build.IcmpMessage(8, 0, 0x00070001, new byte[16])),
            static () => new Dropped("ip-local", "fragment")),
        ["udp to the gateway is answered with port unreachable"] = new("client",
            static () => Routed(GatewayIp),
            static () => new Output([("client", Build.Icmp4Error(GatewayMac, ClientMac, GatewayIp, ClientIp, 3, 3, Build.L3(Routed(GatewayIp))))], ["icmp-error/errors-sent"])),

        // ICMP errors
        ["ttl 1 is answered with time exceeded from the gateway quoting the datagram"] = new("client",
            static () => Routed(RemotePodIp, ttl: 1),
            static () => new Output([("client", Build.Icmp4Error(GatewayMac, ClientMac, GatewayIp, ClientIp, 11, 0, Build.L3(Routed(RemotePodIp, ttl: 1))))], ["icmp-error/errors-sent"])),
        ["ttl 0 is answered with time exceeded"] = new("client",
            static () => Routed(Web2Ip, ttl: 0),
            static () => new Output([("client", Build.Icmp4Error(GatewayMac, ClientMac, GatewayIp, ClientIp, 11, 0, Build.L3(Routed(Web2Ip, ttl: 0))))], ["icmp-error/errors-sent"])),
        ["ttl 1 echo request is answered with time exceeded (traceroute)"] = new("client",
            static () => Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, RemotePodIp, ttl: 1),
            static () => new Output([("client", Build.Icmp4Error(GatewayMac, ClientMac, GatewayIp, ClientIp, 11, 0, Build.L3(Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, RemotePodIp, ttl: 1))))], ["icmp-error/errors-sent"])),
        ["ttl 1 from the uplink is answered from the uplink address to the next hop"] = new("uplink",
            static () => Frames.Udp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 6000, 5000, ttl: 1),
            static () => new Output([("uplink", Build.Icmp4Error(UplinkMac, NodeBMac, UplinkIp, RemotePodIp, 11, 0, Build.L3(Frames.Udp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 6000, 5000, ttl: 1))))], ["icmp-error/errors-sent"])),
        ["no route is answered with net unreachable"] = new("client",
            static () => Routed(NoRouteIp),
            static () => new Output([("client", Build.Icmp4Error(GatewayMac, ClientMac, GatewayIp, ClientIp, 3, 0, Build.L3(Routed(NoRouteIp))))], ["icmp-error/errors-sent"])),
        ["address in the pod cidr with no pod is answered with host unreachable"] = new("client",
            static () => Routed(UnknownPodIp),
            static () => new Output([("client", Build.Icmp4Error(GatewayMac, ClientMac, GatewayIp, ClientIp, 3, 1, Build.L3(Routed(UnknownPodIp))))], ["icmp-error/errors-sent"])),
        ["df packet over the egress mtu is answered with fragmentation needed and the mtu"] = new("client",
            static () => Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 40000, 8080, ack: true, data: new byte[1400]),
            static () => new Output([("client", Build.Icmp4Error(GatewayMac, ClientMac, GatewayIp, ClientIp, 3, 4, Build.L3(Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 40000, 8080, ack: true, data: new byte[1400]))[..548], rest: 1400))], ["icmp-error/errors-sent"]))
        {
            Config = static () => TestConfigs.WithMtu(1400),
        },
        ["df packet of exactly the egress mtu is forwarded"] = new("client",
            static () => Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 40000, 8080, ack: true, data: new byte[1360]),
            static () => new Output(("web-1", Frames.Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, 40000, 8080, ack: true, data: new byte[1360], ttl: 63))))
        {
            Config = static () => TestConfigs.WithMtu(1400),
        },
        ["packet over the egress mtu without df is dropped: the dataplane does not fragment"] = new("client",
            static () => Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 40000, 8080, ack: true, data: new byte[1400], dontFragment: false),
            static () => new Dropped("ip4-lookup", "fragmentation-needed"))
        {
            Config = static () => TestConfigs.WithMtu(1400),
        },
        ["icmp error with ttl 1 gets no icmp error back"] = new("client",
            static () => Build.Ipv4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 1, Build.IcmpMessage(3, 3, 0, Build.L3(Frames.Udp4(Web1Mac, ClientMac, RemotePodIp, ClientIp, 53, 5000))[..28]), ttl: 1),
            static () => new Dropped("icmp-error", "not-answerable")),
        ["icmp error to an unrouted address gets no icmp error back"] = new("client",
            static () => Build.Ipv4(ClientMac, GatewayMac, ClientIp, NoRouteIp, 1, Build.IcmpMessage(11, 0, 0, Build.L3(Frames.Udp4(Web1Mac, ClientMac, NoRouteIp, ClientIp, 53, 5000))[..28])),
            static () => new Dropped("icmp-error", "not-answerable")),
        ["later fragment with ttl 1 gets no icmp error"] = new("client",
            static () => Build.Ipv4Fragment(ClientMac, GatewayMac, ClientIp, RemotePodIp, 17, 78, more: false, 3, s_laterFragmentPayload, ttl: 1),
            static () => new Dropped("icmp-error", "not-answerable")),
    };

    public static TheoryData<string> Cases => new(s_cases.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Frame_gets_its_golden_verdict(string description) => Golden.Run(s_cases[description]);
}
