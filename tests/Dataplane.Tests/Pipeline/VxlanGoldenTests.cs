using System.Buffers.Binary;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Nodes;
using Dataplane.Pipeline;
using Dataplane.Replay;
using Dataplane.Tests.Io;
using Dataplane.Tests.Packets;

namespace Dataplane.Tests.Pipeline;

/// <summary>A node whose route to node-b's pods is VXLAN (flannel's VNI 1, port 8472) and the frames its peer exchanges with it.</summary>
internal static class VxlanNode
{
    public const string GatewayMac = TestNode.GatewayMac;
    public const string GatewayIp = TestNode.GatewayIp;
    public const string UplinkMac = TestNode.UplinkMac;
    public const string UplinkIp = TestNode.UplinkIp;
    public const string PeerMac = TestNode.NodeBMac;
    public const string PeerIp = TestNode.NodeBIp;
    public const string UnresolvedPeerIp = TestNode.NodeCIp;
    public const string ClientMac = TestNode.ClientMac;
    public const string ClientIp = TestNode.ClientIp;
    public const string ClientIp6 = TestNode.ClientIp6;
    public const string RemotePodIp = TestNode.RemotePodIp;
    public const string RemotePodIp6 = TestNode.RemotePodIp6;
    public const string OurVtepMac = "0a:00:0a:f4:01:00";
    public const string PeerVtepMac = "0a:00:0a:f4:02:00";
    public const int Vni = 1;
    public const ushort Port = 8472;

    public static NodeConfig Config() => NodeConfigLoader.Parse($$"""
        node:
          name: node-a
          podCidr: 10.244.1.0/24
          podCidrV6: fd00:10:244:1::/64
          gatewayIp: {{GatewayIp}}
          gatewayIpV6: {{TestNode.GatewayIp6}}
          mac: {{GatewayMac}}
          uplink: { interface: up0, ip: {{UplinkIp}}/24, mac: {{UplinkMac}} }
          vxlan: { vni: {{Vni}}, port: {{Port}}, mac: {{OurVtepMac}} }
        pods:
          - { name: web-1, ip: {{TestNode.Web1Ip}}, mac: {{TestNode.Web1Mac}} }
          - { name: client, ip: {{ClientIp}}, ipV6: {{ClientIp6}}, mac: {{ClientMac}} }
        routes:
          - { cidr: 10.244.2.0/24, vtep: {{PeerIp}}, vtepMac: {{PeerVtepMac}} }
          - { cidr: fd00:10:244:2::/64, vtep: {{PeerIp}}, vtepMac: {{PeerVtepMac}} }
          - { cidr: 10.244.3.0/24, vtep: {{UnresolvedPeerIp}}, vtepMac: 0a:00:0a:f4:03:00 }
        """, "vxlan-node.yaml").ThrowIfInvalid();

    /// <summary>node-b answering our ARP for its uplink IP: resolves the VTEP's outer MAC.</summary>
    public static byte[] PeerArpReply() => Frames.ArpReply(PeerMac, PeerIp, UplinkMac, UplinkIp);

    /// <summary>
    /// An inner frame wrapped as a Linux vxlan device sends it: outer Ethernet, IPv4 (TTL 64, DF clear, ID
    /// <paramref name="id"/>, checksum computed here the slow way), UDP (checksum 0), VXLAN with the I flag.
    /// </summary>
    public static byte[] Encapsulated(string srcMac, string dstMac, string src, string dst, ushort sourcePort, byte[] inner,
        int vni = Vni, ushort id = 0, byte flags = 0x08, int? udpLength = null)
    {
        byte[] frame = new byte[50 + inner.Length];
        Span<byte> f = frame;
        Dataplane.Packets.MacAddress.Parse(dstMac).Write(f);
        Dataplane.Packets.MacAddress.Parse(srcMac).Write(f.Slice(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.Slice(12), 0x0800);
        Span<byte> ip = f.Slice(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(2), (ushort)(36 + inner.Length));
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(4), id);
        ip[8] = 64;
        ip[9] = 17;
        Dataplane.Packets.Ip4Address.Parse(src).Write(ip.Slice(12));
        Dataplane.Packets.Ip4Address.Parse(dst).Write(ip.Slice(16));
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(10), ReferenceChecksum.Compute(ip.Slice(0, 20)));
        Span<byte> udp = ip.Slice(20);
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(2), Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(4), (ushort)(udpLength ?? (16 + inner.Length)));
        udp[8] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(udp.Slice(12), (uint)vni << 8);
        inner.CopyTo(udp.Slice(16));
        return frame;
    }

    /// <summary>What node-b's vxlan device sends us for one of its pods.</summary>
    public static byte[] FromPeer(byte[] inner, int vni = Vni) => Encapsulated(PeerMac, UplinkMac, PeerIp, UplinkIp, 45678, inner, vni);

    /// <summary>Checks an encapsulated frame against <see cref="Encapsulated"/> of <paramref name="inner"/>, taking the source port from it (a flow hash).</summary>
    public static ushort AssertEncapsulated(byte[] actual, byte[] inner, ushort id = 0)
    {
        ushort sourcePort = BinaryPrimitives.ReadUInt16BigEndian(actual.AsSpan(34));
        Assert.InRange(sourcePort, VxlanEncap.SourcePortMin, VxlanEncap.SourcePortMax - 1);
        FrameAssert.SameBytes(Encapsulated(UplinkMac, PeerMac, UplinkIp, PeerIp, sourcePort, inner, id: id), actual, "encapsulated frame");
        FrameAssert.ChecksumsValid(actual);
        FrameAssert.ChecksumsValid(actual[50..]);
        return sourcePort;
    }
}

/// <summary>
/// VXLAN golden cases: pod traffic to another node's pods leaves encapsulated toward its VTEP (IPv4 and IPv6 inner),
/// the peer's VXLAN packets are decapsulated to our pods, and every malformed or foreign one is dropped and counted.
/// </summary>
[Trait("Category", "unit")]
public sealed class VxlanGoldenTests
{
    private static readonly (string, Func<byte[]>)[] s_resolved = [("uplink", VxlanNode.PeerArpReply)];

    private static byte[] InnerToClient(string ourVtepMac = VxlanNode.OurVtepMac) =>
        Frames.Udp4(VxlanNode.PeerVtepMac, ourVtepMac, VxlanNode.RemotePodIp, VxlanNode.ClientIp, 6000, 5000, ttl: 63);

    private static readonly Dictionary<string, GoldenCase> s_cases = new()
    {
        ["udp from the peer's pod is decapsulated and routed to our pod"] = new("uplink",
            static () => VxlanNode.FromPeer(InnerToClient()),
            static () => new Output([("client", Frames.Udp4(VxlanNode.GatewayMac, VxlanNode.ClientMac, VxlanNode.RemotePodIp, VxlanNode.ClientIp, 6000, 5000, ttl: 62))], ["vxlan-input/decapsulated", "conntrack/new-flows"])),
        ["tcp from the peer's pod is decapsulated and routed to our pod"] = new("uplink",
            static () => VxlanNode.FromPeer(Frames.Tcp4(VxlanNode.PeerVtepMac, VxlanNode.OurVtepMac, VxlanNode.RemotePodIp, VxlanNode.ClientIp, 41000, 8080, syn: true, ttl: 63)),
            static () => new Output([("client", Frames.Tcp4(VxlanNode.GatewayMac, VxlanNode.ClientMac, VxlanNode.RemotePodIp, VxlanNode.ClientIp, 41000, 8080, syn: true, ttl: 62))], ["vxlan-input/decapsulated", "conntrack/new-flows"])),
        ["ipv6 from the peer's pod is decapsulated and routed to our pod"] = new("uplink",
            static () => VxlanNode.FromPeer(Frames.Udp6(VxlanNode.PeerVtepMac, VxlanNode.OurVtepMac, VxlanNode.RemotePodIp6, VxlanNode.ClientIp6, 6000, 5000, hopLimit: 63)),
            static () => new Output([("client", Frames.Udp6(VxlanNode.GatewayMac, VxlanNode.ClientMac, VxlanNode.RemotePodIp6, VxlanNode.ClientIp6, 6000, 5000, hopLimit: 62))], ["vxlan-input/decapsulated", "conntrack/new-flows"])),
        // As on Linux, which accepts it on the vxlan device but forwards only frames addressed to it (PACKET_HOST).
        ["inner frame to the broadcast mac passes vxlan-input but is not routed"] = new("uplink",
            static () => VxlanNode.FromPeer(InnerToClient("ff:ff:ff:ff:ff:ff")), static () => new Dropped("bridge", "uplink-multicast")),
        ["wrong vni is dropped"] = new("uplink",
            static () => VxlanNode.FromPeer(InnerToClient(), vni: 2), static () => new Dropped("vxlan-input", "wrong-vni")),
        ["vxlan header without the i flag is dropped"] = new("uplink",
            static () => VxlanNode.Encapsulated(VxlanNode.PeerMac, VxlanNode.UplinkMac, VxlanNode.PeerIp, VxlanNode.UplinkIp, 45678, InnerToClient(), flags: 0),
            static () => new Dropped("vxlan-input", "no-vni")),
        ["inner frame shorter than an ethernet header is dropped"] = new("uplink",
            static () => VxlanNode.FromPeer(InnerToClient()[..10]), static () => new Dropped("vxlan-input", "truncated-inner")),
        ["inner ipv4 cut short is dropped by ip4-input after decapsulation"] = new("uplink",
            static () => VxlanNode.FromPeer(InnerToClient()[..30]), static () => new Dropped("ip4-input", "truncated")),
        ["outer udp length beyond the datagram is dropped"] = new("uplink",
            static () => VxlanNode.Encapsulated(VxlanNode.PeerMac, VxlanNode.UplinkMac, VxlanNode.PeerIp, VxlanNode.UplinkIp, 45678, InnerToClient(), udpLength: 2000),
            static () => new Dropped("vxlan-input", "outer-malformed")),
        ["outer ipv4 with a bad header checksum is dropped"] = new("uplink",
            static () => Build.Patch(VxlanNode.FromPeer(InnerToClient()), 24, 0xDE, 0xAD), static () => new Dropped("vxlan-input", "outer-malformed")),
        ["inner frame to another vtep mac is dropped"] = new("uplink",
            static () => VxlanNode.FromPeer(InnerToClient("0a:00:0a:f4:09:00")), static () => new Dropped("vxlan-input", "not-for-our-vtep")),
        ["inner arp is dropped and counted"] = new("uplink",
            static () => VxlanNode.FromPeer(Frames.ArpRequest(VxlanNode.PeerVtepMac, "10.244.2.0", "10.244.1.0", dstMac: "ff:ff:ff:ff:ff:ff")), static () => new Dropped("vxlan-input", "inner-arp")),
        ["udp to another port on our uplink ip is not vxlan"] = new("uplink",
            static () => Build.Patch(VxlanNode.FromPeer(InnerToClient()), 36, 0x12, 0xB5),
            static () => new Output([("uplink", Build.Icmp4Error(VxlanNode.UplinkMac, VxlanNode.PeerMac, VxlanNode.UplinkIp, VxlanNode.PeerIp, 3, 3, Build.L3(Build.Patch(VxlanNode.FromPeer(InnerToClient()), 36, 0x12, 0xB5))))], ["icmp-error/errors-sent"])),
        ["df packet over the vxlan mtu gets fragmentation needed with uplink mtu - 50"] = new("client",
            static () => Frames.Tcp4(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp, VxlanNode.RemotePodIp, 40000, 8080, ack: true, data: new byte[1411]),
            static () => new Output([("client", Build.Icmp4Error(VxlanNode.GatewayMac, VxlanNode.ClientMac, VxlanNode.GatewayIp, VxlanNode.ClientIp, 3, 4,
                Build.L3(Frames.Tcp4(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp, VxlanNode.RemotePodIp, 40000, 8080, ack: true, data: new byte[1411]))[..548], rest: 1450))], ["icmp-error/errors-sent"]))
        {
            Before = s_resolved,
        },
        ["ipv4 without df over the vxlan mtu is dropped (no fragmentation)"] = new("client",
            static () => Build.Ipv4(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp, VxlanNode.RemotePodIp, 253, new byte[1431]),
            static () => new Dropped("vxlan-encap", "fragmentation-needed"))
        {
            Before = s_resolved,
        },
        ["ipv6 over the vxlan mtu gets packet too big with uplink mtu - 50"] = new("client",
            static () => Frames.Udp6(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp6, VxlanNode.RemotePodIp6, 5000, 6000, data: new byte[1403]),
            static () => new Output([("client", Build.Icmp6Error(VxlanNode.GatewayMac, VxlanNode.ClientMac, TestNode.GatewayIp6, VxlanNode.ClientIp6, 2, 0,
                Build.L3(Frames.Udp6(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp6, VxlanNode.RemotePodIp6, 5000, 6000, data: new byte[1403]))[..1232], rest: 1450))], ["icmp-error/errors-sent", "conntrack/new-flows"]))
        {
            Before = s_resolved,
        },
        ["packet to an unresolved vtep becomes an arp request for it"] = new("client",
            static () => Frames.Udp4(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp, "10.244.3.5", 5000, 6000),
            static () => new Output([("uplink", Frames.ArpRequest(VxlanNode.UplinkMac, VxlanNode.UplinkIp, VxlanNode.UnresolvedPeerIp))], ["vxlan-encap/vtep-unresolved", "vxlan-encap/arp-requests-sent", "conntrack/new-flows"])),
    };

    public static TheoryData<string> Cases() => [.. s_cases.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Vxlan_case(string description)
    {
        GoldenCase golden = s_cases[description];
        Golden.Run(golden with { Config = golden.Config ?? VxlanNode.Config });
    }

    [Fact]
    public void A_peer_pods_ping_of_our_gateway_is_answered_back_through_the_tunnel()
    {
        var harness = new PipelineHarness(VxlanNode.Config());
        harness.Send("uplink", VxlanNode.PeerArpReply());
        byte[] request = Frames.Icmp4Echo(VxlanNode.PeerVtepMac, VxlanNode.OurVtepMac, VxlanNode.RemotePodIp, VxlanNode.GatewayIp, id: 9, ttl: 63);

        Sent sent = Assert.Single(harness.Send("uplink", VxlanNode.FromPeer(request)));

        Assert.Equal("uplink", sent.Port);
        VxlanNode.AssertEncapsulated(sent.Frame,
            Frames.Icmp4Echo(VxlanNode.OurVtepMac, VxlanNode.PeerVtepMac, VxlanNode.GatewayIp, VxlanNode.RemotePodIp, id: 9, ttl: 63, reply: true));
        Assert.Equal(1, harness.Event("ip-local", "echo-replies"));
    }

    [Fact]
    public void Udp_to_the_peers_pod_leaves_encapsulated_with_right_outer_and_inner_checksums()
    {
        var harness = new PipelineHarness(VxlanNode.Config());
        harness.Send("uplink", VxlanNode.PeerArpReply());

        Sent sent = Assert.Single(harness.Send("client", Frames.Udp4(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp, VxlanNode.RemotePodIp, 5000, 6000, data: new byte[100])));

        Assert.Equal("uplink", sent.Port);
        VxlanNode.AssertEncapsulated(sent.Frame, Frames.Udp4(VxlanNode.OurVtepMac, VxlanNode.PeerVtepMac, VxlanNode.ClientIp, VxlanNode.RemotePodIp, 5000, 6000, data: new byte[100], ttl: 63));
        Assert.Equal(1, harness.Event("vxlan-encap", "encapsulated"));
    }

    [Fact]
    public void Ipv6_to_the_peers_pod_leaves_encapsulated_over_the_ipv4_underlay()
    {
        var harness = new PipelineHarness(VxlanNode.Config());
        harness.Send("uplink", VxlanNode.PeerArpReply());

        Sent sent = Assert.Single(harness.Send("client", Frames.Udp6(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp6, VxlanNode.RemotePodIp6, 40000, 80, data: new byte[33])));

        VxlanNode.AssertEncapsulated(sent.Frame, Frames.Udp6(VxlanNode.OurVtepMac, VxlanNode.PeerVtepMac, VxlanNode.ClientIp6, VxlanNode.RemotePodIp6, 40000, 80, data: new byte[33], hopLimit: 63));
    }

    [Fact]
    public void A_flow_keeps_its_source_port_and_flows_spread_over_the_range()
    {
        var harness = new PipelineHarness(VxlanNode.Config());
        harness.Send("uplink", VxlanNode.PeerArpReply());
        ushort Port(ushort clientPort) => BinaryPrimitives.ReadUInt16BigEndian(Assert.Single(harness.Send("client",
            Frames.Udp4(VxlanNode.ClientMac, VxlanNode.GatewayMac, VxlanNode.ClientIp, VxlanNode.RemotePodIp, clientPort, 6000))).Frame.AsSpan(34));

        Assert.Equal(Port(5000), Port(5000));
        var ports = Enumerable.Range(0, 64).Select(i => Port((ushort)(20000 + i))).ToHashSet();
        Assert.True(ports.Count > 56, $"64 flows got only {ports.Count} distinct source ports");
        Assert.Contains(ports, static p => p < 46884);
        Assert.Contains(ports, static p => p >= 46884);
    }
}
