using Dataplane.Conntrack;
using Dataplane.Packets;
using Dataplane.Tests.Pipeline;
using static Dataplane.Tests.Conntrack.Nat;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// Service NAT end to end through the replay engine, golden-table style: each step is a frame in, the exact frame
/// out (built independently with PacketDotNet) and the conntrack state after it. The client side always sees
/// VIP:80, the backend side backend:8080.
/// </summary>
[Trait("Category", "unit")]
public class ServiceNatTests
{
    private const ushort ClientPort = 40000;
    private static readonly byte[] Request = "GET / HTTP/1.1\r\nHost: web\r\n\r\n"u8.ToArray();
    private static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"u8.ToArray();

    /// <summary>One golden step: what goes in where, what must come out where, and the flow's TCP state after.</summary>
    private sealed record Step(string Description, string InPort, byte[] In, string OutPort, byte[] Out, TcpState State);

    private static void Run(PipelineHarness harness, IEnumerable<Step> steps, string backend)
    {
        long now = T0;
        foreach (Step step in steps)
        {
            now += Second / 1000;
            List<Sent> sent = harness.Send(step.InPort, step.In, now);
            try
            {
                AssertSent(sent, step.OutPort, step.Out);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"step '{step.Description}': {e.Message}");
            }

            FlowEntry entry = Entry(harness, now, ClientIp, ClientPort, Vip, 80, IpProtocol.Tcp);
            Assert.True(step.State == entry.TcpState, $"step '{step.Description}': state {entry.TcpState}, expected {step.State}");
            Assert.Equal(IpAddress.Parse(backend), new IpAddress(new Ip6Address(entry.NatHi, entry.NatLo)));
        }

        Assert.Empty(harness.AllDrops());
        Assert.Equal(1, harness.Event("conntrack", "new-flows"));
        Assert.Equal(1, harness.Event("conntrack", "service-flows"));
    }

    [Fact]
    public void Tcp_handshake_data_and_fin_through_the_vip_to_a_local_backend_with_bridged_replies()
    {
        var harness = Harness(LocalWeb);

        // Client to VIP: routed (to the gateway MAC), DNATed, TTL-1, new MACs. Backend to client: bridged straight
        // to the client's MAC (same subnet), un-DNATed to VIP:80, MACs and TTL untouched.
        byte[] C(string flags, uint seq, uint ack, byte[]? data = null) => Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientPort, 80, flags, seq, ack, data);
        byte[] CtoB(string flags, uint seq, uint ack, byte[]? data = null) => Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, ClientPort, 8080, flags, seq, ack, data, ttl: 63);
        byte[] B(string flags, uint seq, uint ack, byte[]? data = null) => Tcp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 8080, ClientPort, flags, seq, ack, data);
        byte[] BtoC(string flags, uint seq, uint ack, byte[]? data = null) => Tcp4(Web1Mac, ClientMac, Vip, ClientIp, 80, ClientPort, flags, seq, ack, data);

        Step[] steps =
        [
            new("SYN", "client", C("S", 1000, 0), "web-1", CtoB("S", 1000, 0), TcpState.SynSent),
            new("SYN-ACK", "web-1", B("SA", 5000, 1001), "client", BtoC("SA", 5000, 1001), TcpState.SynRecv),
            new("ACK", "client", C("A", 1001, 5001), "web-1", CtoB("A", 1001, 5001), TcpState.Established),
            new("request", "client", C("PA", 1001, 5001, Request), "web-1", CtoB("PA", 1001, 5001, Request), TcpState.Established),
            new("response", "web-1", B("PA", 5001, 1001 + (uint)Request.Length, Response), "client", BtoC("PA", 5001, 1001 + (uint)Request.Length, Response), TcpState.Established),
            new("client FIN", "client", C("FA", 1001 + (uint)Request.Length, 5001 + (uint)Response.Length), "web-1", CtoB("FA", 1001 + (uint)Request.Length, 5001 + (uint)Response.Length), TcpState.FinWait),
            new("server FIN", "web-1", B("FA", 5001 + (uint)Response.Length, 1002 + (uint)Request.Length), "client", BtoC("FA", 5001 + (uint)Response.Length, 1002 + (uint)Request.Length), TcpState.LastAck),
            new("last ACK", "client", C("A", 1002 + (uint)Request.Length, 5002 + (uint)Response.Length), "web-1", CtoB("A", 1002 + (uint)Request.Length, 5002 + (uint)Response.Length), TcpState.TimeWait),
        ];
        Run(harness, steps, Web1Ip);
    }

    [Fact]
    public void Tcp_handshake_data_and_fin_through_the_vip_to_a_remote_backend_via_the_uplink()
    {
        var harness = Harness(RemoteWeb);

        // Both directions are routed: towards node-b from the uplink MAC, back to the client from the gateway MAC.
        byte[] C(string flags, uint seq, uint ack, byte[]? data = null) => Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientPort, 80, flags, seq, ack, data);
        byte[] CtoB(string flags, uint seq, uint ack, byte[]? data = null) => Tcp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, ClientPort, 8080, flags, seq, ack, data, ttl: 63);
        byte[] B(string flags, uint seq, uint ack, byte[]? data = null) => Tcp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 8080, ClientPort, flags, seq, ack, data, ttl: 63);
        byte[] BtoC(string flags, uint seq, uint ack, byte[]? data = null) => Tcp4(GatewayMac, ClientMac, Vip, ClientIp, 80, ClientPort, flags, seq, ack, data, ttl: 62);

        uint c = 77_000, s = 3_000_000_000;
        uint q = (uint)Request.Length, r = (uint)Response.Length;
        Step[] steps =
        [
            new("SYN", "client", C("S", c, 0), "uplink", CtoB("S", c, 0), TcpState.SynSent),
            new("SYN-ACK", "uplink", B("SA", s, c + 1), "client", BtoC("SA", s, c + 1), TcpState.SynRecv),
            new("ACK", "client", C("A", c + 1, s + 1), "uplink", CtoB("A", c + 1, s + 1), TcpState.Established),
            new("request", "client", C("PA", c + 1, s + 1, Request), "uplink", CtoB("PA", c + 1, s + 1, Request), TcpState.Established),
            new("response", "uplink", B("PA", s + 1, c + 1 + q, Response), "client", BtoC("PA", s + 1, c + 1 + q, Response), TcpState.Established),
            new("server FIN", "uplink", B("FA", s + 1 + r, c + 1 + q), "client", BtoC("FA", s + 1 + r, c + 1 + q), TcpState.FinWait),
            new("client ACK", "client", C("A", c + 1 + q, s + 2 + r), "uplink", CtoB("A", c + 1 + q, s + 2 + r), TcpState.CloseWait),
            new("client FIN", "client", C("FA", c + 1 + q, s + 2 + r), "uplink", CtoB("FA", c + 1 + q, s + 2 + r), TcpState.LastAck),
            new("last ACK", "uplink", B("A", s + 2 + r, c + 2 + q), "client", BtoC("A", s + 2 + r, c + 2 + q), TcpState.TimeWait),
        ];
        Run(harness, steps, RemotePodIp);
    }

    [Fact]
    public void Ipv6_tcp_flow_through_the_vip_is_natted_both_ways()
    {
        var harness = Harness(LocalWeb);
        byte[] C(string flags, uint seq, uint ack, byte[]? data = null) => Tcp6(ClientMac, GatewayMac, ClientIp6, Vip6, ClientPort, 80, flags, seq, ack, data);
        byte[] CtoB(string flags, uint seq, uint ack, byte[]? data = null) => Tcp6(GatewayMac, Web1Mac, ClientIp6, Web1Ip6, ClientPort, 8080, flags, seq, ack, data, hopLimit: 63);
        byte[] B(string flags, uint seq, uint ack, byte[]? data = null) => Tcp6(Web1Mac, ClientMac, Web1Ip6, ClientIp6, 8080, ClientPort, flags, seq, ack, data);
        byte[] BtoC(string flags, uint seq, uint ack, byte[]? data = null) => Tcp6(Web1Mac, ClientMac, Vip6, ClientIp6, 80, ClientPort, flags, seq, ack, data);

        long now = T0;
        AssertSent(harness.Send("client", C("S", 1, 0), now), "web-1", CtoB("S", 1, 0));
        AssertSent(harness.Send("web-1", B("SA", 9, 2), now), "client", BtoC("SA", 9, 2));
        AssertSent(harness.Send("client", C("PA", 2, 10, Request), now), "web-1", CtoB("PA", 2, 10, Request));
        AssertSent(harness.Send("web-1", B("PA", 10, 2 + (uint)Request.Length, Response), now), "client", BtoC("PA", 10, 2 + (uint)Request.Length, Response));

        FlowEntry entry = Entry(harness, now, ClientIp6, ClientPort, Vip6, 80, IpProtocol.Tcp);
        Assert.Equal(TcpState.Established, entry.TcpState);
        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void Udp_dns_like_exchange_is_natted_and_the_reply_comes_from_the_vip()
    {
        var harness = Harness(RemoteWeb);
        byte[] query = Dns(answer: false), answer = Dns(answer: true);

        AssertSent(
            harness.Send("client", Udp4(ClientMac, GatewayMac, ClientIp, Vip, 33333, 53, query), T0),
            "uplink", Udp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, 33333, 5353, query, ttl: 63));
        AssertSent(
            harness.Send("uplink", Udp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 5353, 33333, answer, ttl: 63), T0 + Second),
            "client", Udp4(GatewayMac, ClientMac, Vip, ClientIp, 53, 33333, answer, ttl: 62));

        FlowEntry entry = Entry(harness, T0 + Second, ClientIp, 33333, Vip, 53, IpProtocol.Udp);
        Assert.True((entry.Flags & FlowFlags.SeenReply) != 0);
        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void Ipv6_udp_exchange_through_the_vip_is_natted_both_ways()
    {
        var harness = Harness(LocalWeb);
        byte[] query = Dns(answer: false), answer = Dns(answer: true);
        AssertSent(
            harness.Send("client", Udp6(ClientMac, GatewayMac, ClientIp6, Vip6, 33333, 53, query), T0),
            "web-1", Udp6(GatewayMac, Web1Mac, ClientIp6, Web1Ip6, 33333, 5353, query, hopLimit: 63));
        AssertSent(
            harness.Send("web-1", Udp6(Web1Mac, ClientMac, Web1Ip6, ClientIp6, 5353, 33333, answer), T0),
            "client", Udp6(Web1Mac, ClientMac, Vip6, ClientIp6, 53, 33333, answer));
    }

    [Fact]
    public void Zero_checksum_udp_stays_zero_after_dnat_and_un_dnat()
    {
        var harness = Harness(LocalWeb);
        List<Sent> sent = harness.Send("client", Udp4(ClientMac, GatewayMac, ClientIp, Vip, 33333, 53, Dns(false), zeroChecksum: true), T0);
        AssertSent(sent, "web-1", Udp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, 33333, 5353, Dns(false), ttl: 63, zeroChecksum: true));

        sent = harness.Send("web-1", Udp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 5353, 33333, Dns(true), zeroChecksum: true), T0);
        AssertSent(sent, "client", Udp4(Web1Mac, ClientMac, Vip, ClientIp, 53, 33333, Dns(true), zeroChecksum: true));
    }

    [Fact]
    public void Reply_from_same_node_backend_bridged_to_the_client_mac_is_reverse_natted()
    {
        // The backend answers the client directly (same subnet): the frame never meets the gateway MAC or the
        // router, yet conntrack sees it and the client gets VIP:80, not the backend's address.
        var harness = Harness(LocalWeb);
        harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientPort, 80, "S", 1, 0), T0);

        List<Sent> sent = harness.Send("web-1", Tcp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 8080, ClientPort, "SA", 7, 2), T0);
        AssertSent(sent, "client", Tcp4(Web1Mac, ClientMac, Vip, ClientIp, 80, ClientPort, "SA", 7, 2));
        Assert.Equal(0, harness.Stage("ip4-lookup").Packets - 1); // only the SYN was routed
    }

    [Fact]
    public void Hairpin_pod_reaching_its_own_service_is_source_natted_to_the_gateway_and_the_reply_comes_back_from_the_vip()
    {
        var harness = Harness(LocalWeb);
        List<Sent> sent = harness.Send("web-1", Tcp4(Web1Mac, GatewayMac, Web1Ip, Vip, 45000, 80, "S", 1, 0), T0);
        AssertSent(sent, "web-1", Tcp4(GatewayMac, Web1Mac, GatewayIp, Web1Ip, 45000, 8080, "S", 1, 0, ttl: 63));
        Assert.Equal(1, harness.Event("conntrack", "hairpins"));

        // web-1 answers the gateway (an on-link address, so to the gateway MAC); the reply is un-NATed both ways.
        sent = harness.Send("web-1", Tcp4(Web1Mac, GatewayMac, Web1Ip, GatewayIp, 8080, 45000, "SA", 50, 2), T0);
        AssertSent(sent, "web-1", Tcp4(GatewayMac, Web1Mac, Vip, Web1Ip, 80, 45000, "SA", 50, 2, ttl: 63));

        sent = harness.Send("web-1", Tcp4(Web1Mac, GatewayMac, Web1Ip, Vip, 45000, 80, "A", 2, 51), T0);
        AssertSent(sent, "web-1", Tcp4(GatewayMac, Web1Mac, GatewayIp, Web1Ip, 45000, 8080, "A", 2, 51, ttl: 63));
        Assert.Equal(TcpState.Established, Entry(harness, T0, Web1Ip, 45000, Vip, 80, IpProtocol.Tcp).TcpState);
        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void Ipv6_hairpin_is_source_natted_to_the_ipv6_gateway()
    {
        var harness = Harness(LocalWeb);
        AssertSent(
            harness.Send("web-1", Tcp6(Web1Mac, GatewayMac, Web1Ip6, Vip6, 45000, 80, "S", 1, 0), T0),
            "web-1", Tcp6(GatewayMac, Web1Mac, GatewayIp6, Web1Ip6, 45000, 8080, "S", 1, 0, hopLimit: 63));
        AssertSent(
            harness.Send("web-1", Tcp6(Web1Mac, GatewayMac, Web1Ip6, GatewayIp6, 8080, 45000, "SA", 50, 2), T0),
            "web-1", Tcp6(GatewayMac, Web1Mac, Vip6, Web1Ip6, 80, 45000, "SA", 50, 2, hopLimit: 63));
    }

    [Fact]
    public void Reply_tuple_clash_remaps_the_source_port_and_both_flows_are_un_natted_to_their_own_vip()
    {
        // Two VIPs, one backend, one client port: the second flow's reply tuple (web-1:8080 > client:40000) is taken.
        const string TwoServices = """
              - name: web
                clusterIP: 10.96.0.10
                ports:
                  - { protocol: TCP, port: 80, targetPort: 8080 }
                endpoints:
                  - { ip: 10.244.1.11 }
              - name: api
                clusterIP: 10.96.0.11
                ports:
                  - { protocol: TCP, port: 80, targetPort: 8080 }
                endpoints:
                  - { ip: 10.244.1.11 }
            """;
        const string Vip2 = "10.96.0.11";
        var harness = Harness(TwoServices);

        AssertSent(
            harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientPort, 80, "S", 100, 0), T0),
            "web-1", Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, ClientPort, 8080, "S", 100, 0, ttl: 63));

        List<Sent> sent = harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip2, ClientPort, 80, "S", 200, 0), T0);
        Sent second = Assert.Single(sent);
        ushort remapped = (ushort)((second.Frame[34] << 8) | second.Frame[35]);
        Assert.InRange(remapped, 32768, 60999);
        AssertSent(sent, "web-1", Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, remapped, 8080, "S", 200, 0, ttl: 63));

        // Each reply goes back to its own VIP and to the client's real port.
        AssertSent(
            harness.Send("web-1", Tcp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 8080, remapped, "SA", 900, 201), T0),
            "client", Tcp4(Web1Mac, ClientMac, Vip2, ClientIp, 80, ClientPort, "SA", 900, 201));
        AssertSent(
            harness.Send("web-1", Tcp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 8080, ClientPort, "SA", 800, 101), T0),
            "client", Tcp4(Web1Mac, ClientMac, Vip, ClientIp, 80, ClientPort, "SA", 800, 101));

        // And the remapped flow keeps its port on later packets.
        AssertSent(
            harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip2, ClientPort, 80, "A", 201, 901), T0),
            "web-1", Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, remapped, 8080, "A", 201, 901, ttl: 63));
        FlowEntry entry = Entry(harness, T0, ClientIp, ClientPort, Vip2, 80, IpProtocol.Tcp);
        Assert.True((entry.Flags & FlowFlags.SnatPort) != 0);
        Assert.Equal(remapped, entry.SnatPort);
        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void Service_without_endpoints_answers_icmp_port_unreachable_quoting_the_untranslated_packet()
    {
        const string Empty = """
              - name: empty
                clusterIP: 10.96.0.12
                ports:
                  - { protocol: TCP, port: 80, targetPort: 8080 }
                  - { protocol: UDP, port: 53 }
                endpoints: []
            """;
        var harness = Harness(Empty);
        foreach (byte[] frame in new[]
        {
            Tcp4(ClientMac, GatewayMac, ClientIp, "10.96.0.12", ClientPort, 80, "S", 1, 0),
            Udp4(ClientMac, GatewayMac, ClientIp, "10.96.0.12", 33333, 53, Dns(false)),
        })
        {
            Sent sent = Assert.Single(harness.Send("client", frame, T0));
            Assert.Equal("client", sent.Port);
            AssertChecksums(sent.Frame);
            var ip = (PacketDotNet.IPv4Packet)Frames.Parse(sent.Frame).PayloadPacket;
            Assert.Equal(Frames.Ip(GatewayIp), ip.SourceAddress);
            Assert.Equal(Frames.Ip(ClientIp), ip.DestinationAddress);
            byte[] icmp = sent.Frame[34..];
            Assert.Equal(3, icmp[0]);
            Assert.Equal(3, icmp[1]);
            Assert.Equal(L3(frame), icmp[8..]);
        }

        Assert.Equal(2, harness.Event("conntrack", "no-endpoints"));
        Assert.Empty(Entries(harness, T0));
    }

    [Fact]
    public void Ipv6_service_without_endpoints_answers_icmpv6_port_unreachable()
    {
        const string Empty = """
              - name: empty
                clusterIP: fd00:96::12
                ports:
                  - { protocol: TCP, port: 80, targetPort: 8080 }
                endpoints: []
            """;
        var harness = Harness(Empty);
        byte[] syn = Tcp6(ClientMac, GatewayMac, ClientIp6, "fd00:96::12", ClientPort, 80, "S", 1, 0);
        Sent sent = Assert.Single(harness.Send("client", syn, T0));
        Assert.Equal("client", sent.Port);
        AssertChecksums(sent.Frame);
        var ip = (PacketDotNet.IPv6Packet)Frames.Parse(sent.Frame).PayloadPacket;
        Assert.Equal(Frames.Ip(GatewayIp6), ip.SourceAddress);
        Assert.Equal(Frames.Ip(ClientIp6), ip.DestinationAddress);
        byte[] icmp = sent.Frame[54..];
        Assert.Equal(1, icmp[0]); // destination unreachable
        Assert.Equal(4, icmp[1]); // port unreachable
        Assert.Equal(L3(syn), icmp[8..]);
        Assert.Equal(1, harness.Event("conntrack", "no-endpoints"));
    }

    [Fact]
    public void Stray_ack_to_a_vip_without_an_entry_is_dropped_and_counted_never_sent_to_a_backend()
    {
        var harness = Harness(TwoWeb);
        foreach (string flags in new[] { "A", "PA", "FA", "R", "RA", "SA" })
        {
            Assert.Empty(harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientPort, 80, flags, 5, 6), T0));
        }

        Assert.Equal(6, harness.Drops("conntrack", "midstream-to-service"));
        Assert.Empty(Entries(harness, T0));
        Assert.Equal(0, harness.Event("conntrack", "service-flows"));
    }

    [Fact]
    public void First_fragment_to_a_service_is_dropped_not_balanced()
    {
        var harness = Harness(TwoWeb);
        byte[] frame = WithMoreFragments(Udp4(ClientMac, GatewayMac, ClientIp, Vip, 33333, 53, new byte[64]));
        Assert.Empty(harness.Send("client", frame, T0));
        Assert.Equal(1, harness.Drops("conntrack", "fragment-to-service"));
    }

    /// <summary>The same datagram as the first fragment of a larger one (MF set, offset 0).</summary>
    private static byte[] WithMoreFragments(byte[] frame)
    {
        byte[] copy = (byte[])frame.Clone();
        copy[14 + 6] |= 0x20;
        copy[14 + 10] = 0;
        copy[14 + 11] = 0;
        ushort sum = Checksum(copy.AsSpan(14, 20), 0);
        copy[14 + 10] = (byte)(sum >> 8);
        copy[14 + 11] = (byte)sum;
        return copy;
    }
}
