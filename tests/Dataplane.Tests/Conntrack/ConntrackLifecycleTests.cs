using Dataplane.Config;
using Dataplane.Conntrack;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;
using Dataplane.Tests.Pipeline;
using static Dataplane.Tests.Conntrack.Nat;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// Flow lifetimes through the pipeline, on the pipeline clock (frame timestamps): per-state TCP timeouts, RST,
/// UDP's short and stream timeouts, ICMP echo, table full, and what service changes do to live flows.
/// </summary>
[Trait("Category", "unit")]
public class ConntrackLifecycleTests
{
    private const ushort ClientPort = 40000;

    /// <summary>Every TCP state gets its own timeout, so the entry's deadline says which one was applied.</summary>
    private const string DistinctTimeouts = """
        { maxEntries: 4096, timeouts: { tcpSynSent: 11, tcpSynRecv: 12, tcpEstablished: 13, tcpFinWait: 14, tcpCloseWait: 15,
          tcpLastAck: 16, tcpTimeWait: 17, tcpClose: 18, udp: 5, udpStream: 50, icmp: 7 } }
        """;

    private static byte[] C(string flags, uint seq = 1, uint ack = 1) => Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientPort, 80, flags, seq, ack);

    private static byte[] B(string flags, uint seq = 1, uint ack = 1) => Tcp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 8080, ClientPort, flags, seq, ack);

    private static FlowEntry Flow(PipelineHarness harness, long now) => Entry(harness, now, ClientIp, ClientPort, Vip, 80, IpProtocol.Tcp);

    [Fact]
    public void Each_tcp_state_gets_its_own_timeout_from_the_packet_that_entered_it()
    {
        var harness = Harness(LocalWeb, DistinctTimeouts);
        (string Port, byte[] Frame, TcpState State, int Seconds)[] steps =
        [
            ("client", C("S"), TcpState.SynSent, 11),
            ("web-1", B("SA"), TcpState.SynRecv, 12),
            ("client", C("A"), TcpState.Established, 13),
            ("web-1", B("FA"), TcpState.FinWait, 14),     // the server closes first
            ("client", C("A"), TcpState.CloseWait, 15),
            ("client", C("FA"), TcpState.LastAck, 16),
            ("web-1", B("A"), TcpState.TimeWait, 17),
        ];

        long now = T0;
        foreach ((string port, byte[] frame, TcpState state, int seconds) in steps)
        {
            now += 3 * Second; // less than any timeout: every step finds the entry alive
            Assert.Single(harness.Send(port, frame, now));
            FlowEntry entry = Flow(harness, now);
            Assert.Equal(state, entry.TcpState);
            Assert.Equal(now + (seconds * Second), entry.Expires);
        }

        // TIME_WAIT lives exactly 17 s: alive 1 ns before, gone at the deadline (lazily: no sweep needed).
        Assert.True(harness.Dataplane.Conntrack.TryLookup(new FlowKey(IpAddress.Parse(ClientIp), IpAddress.Parse(Vip), ClientPort, 80, IpProtocol.Tcp), now + (17 * Second) - 1, out _, out _));
        Assert.Empty(Entries(harness, now + (17 * Second)));
        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void Established_flow_expires_after_the_idle_timeout_and_its_next_ack_is_midstream()
    {
        var harness = Harness(LocalWeb, DistinctTimeouts);
        harness.Send("client", C("S"), T0);
        harness.Send("web-1", B("SA"), T0);
        harness.Send("client", C("A"), T0);

        // Traffic keeps it alive: each packet pushes the deadline 13 s further.
        long now = T0;
        for (int i = 0; i < 5; i++)
        {
            now += (13 * Second) - 1;
            Assert.Single(harness.Send("client", C("A"), now));
        }

        Assert.Equal(0, harness.Drops("conntrack", "midstream-to-service"));

        now += 13 * Second;
        Assert.Empty(harness.Send("client", C("A"), now));
        Assert.Equal(1, harness.Drops("conntrack", "midstream-to-service"));

        // A late reply finds no entry either: a SYN-ACK cannot start a flow (invalid), so it is not leaked un-NATed.
        Assert.Empty(harness.Send("web-1", B("SA"), now));
        Assert.Equal(1, harness.Drops("conntrack", "invalid"));
    }

    [Fact]
    public void Unanswered_syn_expires_after_syn_sent_timeout()
    {
        var harness = Harness(LocalWeb, DistinctTimeouts);
        harness.Send("client", C("S"), T0);
        Assert.Single(Entries(harness, T0 + (11 * Second) - 1));
        Assert.Empty(Entries(harness, T0 + (11 * Second)));

        // A retransmitted SYN after expiry is simply a new flow.
        Assert.Single(harness.Send("client", C("S"), T0 + (12 * Second)));
        Assert.Equal(2, harness.Event("conntrack", "service-flows"));
    }

    [Fact]
    public void Rst_moves_the_flow_to_close_and_it_expires_after_tcp_close()
    {
        var harness = Harness(LocalWeb, DistinctTimeouts);
        harness.Send("client", C("S"), T0);
        harness.Send("web-1", B("SA"), T0);
        harness.Send("client", C("A"), T0);

        // The backend resets: the RST is un-NATed to the client like any reply.
        List<Sent> sent = harness.Send("web-1", B("R", 1, 0), T0 + Second);
        AssertSent(sent, "client", Tcp4(Web1Mac, ClientMac, Vip, ClientIp, 80, ClientPort, "R", 1, 0));
        FlowEntry entry = Flow(harness, T0 + Second);
        Assert.Equal(TcpState.Close, entry.TcpState);
        Assert.Equal(T0 + Second + (18 * Second), entry.Expires);

        // A straggler within tcpClose still passes (state stays CLOSE); after it, the flow is gone.
        Assert.Single(harness.Send("client", C("A"), T0 + (2 * Second)));
        Assert.Equal(TcpState.Close, Flow(harness, T0 + (2 * Second)).TcpState);
        Assert.Empty(harness.Send("client", C("A"), T0 + (2 * Second) + (18 * Second)));
        Assert.Equal(1, harness.Drops("conntrack", "midstream-to-service"));
    }

    [Fact]
    public void Rst_from_the_client_is_natted_to_the_backend()
    {
        var harness = Harness(LocalWeb);
        harness.Send("client", C("S", 10, 0), T0);
        AssertSent(
            harness.Send("client", C("R", 11, 0), T0),
            "web-1", Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, ClientPort, 8080, "R", 11, 0, ttl: 63));
        Assert.Equal(TcpState.Close, Flow(harness, T0).TcpState);
    }

    [Fact]
    public void Syn_after_time_wait_reopens_the_connection_with_a_fresh_pick()
    {
        var harness = Harness(LocalWeb, DistinctTimeouts);
        foreach ((string port, byte[] frame) in new[] { ("client", C("S")), ("web-1", B("SA")), ("client", C("A")), ("client", C("FA")), ("web-1", B("FA")), ("client", C("A")) })
        {
            Assert.Single(harness.Send(port, frame, T0));
        }

        Assert.Equal(TcpState.TimeWait, Flow(harness, T0).TcpState);
        Assert.Single(harness.Send("client", C("S", 5000, 0), T0 + Second));
        Assert.Equal(1, harness.Event("conntrack", "reopened"));
        Assert.Equal(TcpState.SynSent, Flow(harness, T0 + Second).TcpState);
        Assert.Equal(2, harness.Event("conntrack", "service-flows"));
    }

    [Fact]
    public void Invalid_tcp_flag_combinations_are_dropped_as_invalid()
    {
        var harness = Harness(LocalWeb);
        harness.Send("client", C("S"), T0);
        Assert.Empty(harness.Send("client", C("SF"), T0));   // SYN+FIN
        Assert.Empty(harness.Send("client", C("F"), T0));    // FIN without ACK
        Assert.Empty(harness.Send("client", C(""), T0));     // no flags at all
        Assert.Empty(harness.Send("client", C("A"), T0));    // ACK in SYN_SENT: nothing acknowledged yet
        Assert.Empty(harness.Send("client", C("SA"), T0));   // SYN-ACK from the client
        Assert.Equal(5, harness.Drops("conntrack", "invalid"));
        Assert.Equal(TcpState.SynSent, Flow(harness, T0).TcpState);
    }

    [Fact]
    public void Udp_flow_without_reply_gets_the_short_timeout_and_after_a_reply_the_stream_timeout()
    {
        var harness = Harness(LocalWeb, DistinctTimeouts);
        byte[] Query(ushort port) => Udp4(ClientMac, GatewayMac, ClientIp, Vip, port, 53, Dns(false));

        harness.Send("client", Query(1000), T0);
        harness.Send("client", Query(2000), T0);
        harness.Send("web-1", Udp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 5353, 2000, Dns(true)), T0 + Second);

        FlowEntry oneWay = Entry(harness, T0 + Second, ClientIp, 1000, Vip, 53, IpProtocol.Udp);
        FlowEntry answered = Entry(harness, T0 + Second, ClientIp, 2000, Vip, 53, IpProtocol.Udp);
        Assert.Equal(T0 + (5 * Second), oneWay.Expires);
        Assert.Equal(0, (int)(oneWay.Flags & FlowFlags.SeenReply));
        Assert.Equal(T0 + Second + (50 * Second), answered.Expires);
        Assert.NotEqual(0, (int)(answered.Flags & FlowFlags.SeenReply));

        // Once answered, even original-direction packets keep the stream timeout.
        harness.Send("client", Query(2000), T0 + (2 * Second));
        Assert.Equal(T0 + (52 * Second), Entry(harness, T0 + (2 * Second), ClientIp, 2000, Vip, 53, IpProtocol.Udp).Expires);

        Assert.Single(Entries(harness, T0 + (5 * Second)));
        Assert.Empty(Entries(harness, T0 + (52 * Second)));
    }

    [Fact]
    public void Icmp_echo_is_tracked_by_identifier_and_the_reply_matches_its_request()
    {
        var harness = Harness(LocalWeb, DistinctTimeouts);
        ConntrackTable table = harness.Dataplane.Conntrack;

        // client pings web-1 (routed) with two identifiers; web-1 answers straight to the client's MAC (bridged).
        Assert.Single(harness.Send("client", Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, Web1Ip, id: 0x77), T0));
        Assert.Single(harness.Send("client", Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, Web1Ip, id: 0x78), T0));
        Assert.Equal(2, Entries(harness, T0).Count);

        var reply = new FlowKey(IpAddress.Parse(Web1Ip), IpAddress.Parse(ClientIp), 0, 0x77, IpProtocol.Icmp);
        Assert.True(table.TryLookup(in reply, T0, out int entry, out bool isReply));
        Assert.True(isReply);
        Assert.Equal(0x77, table.Entry(entry).Original.SourcePort);

        Sent sent = Assert.Single(harness.Send("web-1", Frames.Icmp4Echo(Web1Mac, ClientMac, Web1Ip, ClientIp, id: 0x77, reply: true), T0 + Second));
        Assert.Equal("client", sent.Port);
        Assert.NotEqual(0, (int)(table.Entry(entry).Flags & FlowFlags.SeenReply));
        Assert.Equal(T0 + Second + (7 * Second), table.Entry(entry).Expires);
        Assert.Equal(0, harness.Event("conntrack", "untracked"));

        // An echo reply nobody asked for is let through untracked, and creates nothing.
        Assert.Single(harness.Send("web-1", Frames.Icmp4Echo(Web1Mac, ClientMac, Web1Ip, ClientIp, id: 0x99, reply: true), T0 + Second));
        Assert.Equal(1, harness.Event("conntrack", "untracked"));
        Assert.Equal(2, Entries(harness, T0 + Second).Count);

        // Echo entries expire after the icmp timeout.
        Assert.Single(Entries(harness, T0 + (7 * Second)));
        Assert.Empty(Entries(harness, T0 + (8 * Second)));
    }

    [Fact]
    public void Icmpv6_echo_is_tracked_by_identifier()
    {
        var harness = Harness(LocalWeb);
        Assert.Single(harness.Send("client", Frames.Icmp6Echo(ClientMac, GatewayMac, ClientIp6, Web1Ip6, id: 0x55), T0));
        var reply = new FlowKey(IpAddress.Parse(Web1Ip6), IpAddress.Parse(ClientIp6), 0, 0x55, IpProtocol.Icmpv6);
        Assert.True(harness.Dataplane.Conntrack.TryLookup(in reply, T0, out _, out bool isReply));
        Assert.True(isReply);
    }

    [Fact]
    public void Bridged_pod_to_pod_udp_is_tracked_and_its_reply_is_a_reply_direction_hit()
    {
        var harness = Harness(LocalWeb);
        ConntrackTable table = harness.Dataplane.Conntrack;

        // web-2 speaks first so the bridge knows its MAC; then client -> web-2 straight MAC to MAC.
        harness.Send("web-2", Frames.ArpRequest(Web2Mac, Web2Ip, GatewayIp), T0);
        Sent sent = Assert.Single(harness.Send("client", Udp4(ClientMac, Web2Mac, ClientIp, Web2Ip, 5000, 6000), T0));
        Assert.Equal("web-2", sent.Port);
        AssertBytes(Udp4(ClientMac, Web2Mac, ClientIp, Web2Ip, 5000, 6000), sent.Frame); // tracked, not rewritten

        FlowEntry entry = Entry(harness, T0, ClientIp, 5000, Web2Ip, 6000, IpProtocol.Udp);
        Assert.Equal(FlowFlags.None, entry.Flags);
        Assert.Equal(0, harness.Stage("ip4-lookup").Packets);

        Assert.Single(harness.Send("web-2", Udp4(Web2Mac, ClientMac, Web2Ip, ClientIp, 6000, 5000), T0));
        var reply = new FlowKey(IpAddress.Parse(Web2Ip), IpAddress.Parse(ClientIp), 6000, 5000, IpProtocol.Udp);
        Assert.True(table.TryLookup(in reply, T0, out int index, out bool isReply));
        Assert.True(isReply);
        Assert.Equal(FlowFlags.SeenReply, table.Entry(index).Flags);
        Assert.Equal(1, harness.Event("conntrack", "new-flows"));
    }

    [Fact]
    public void Two_packets_of_one_new_udp_flow_in_one_batch_end_on_one_entry_and_one_backend()
    {
        var harness = Harness(TwoWeb, batchSize: 256);
        byte[] query = Udp4(ClientMac, GatewayMac, ClientIp, Vip, 33333, 53, Dns(false));
        List<Sent> sent = harness.Send([("client", query, T0), ("client", query, T0)]);

        Assert.Equal(2, sent.Count);
        Assert.Equal(sent[0].Port, sent[1].Port);
        AssertBytes(sent[0].Frame, sent[1].Frame);
        Assert.Single(Entries(harness, T0));
        Assert.Equal(1, harness.Event("conntrack", "new-flows"));
        Assert.Equal(1, harness.Event("conntrack", "service-flows"));

        // One pick, one open connection: the second packet did not count another.
        ServicePort port = Nat.Port(harness, Vip, L4Protocol.Udp, 53);
        Assert.Equal(1, port.OpenConnections(0) + port.OpenConnections(1));
    }

    [Fact]
    public void Table_full_refuses_new_flows_counted_while_established_flows_keep_flowing()
    {
        // One pod may fill the whole table here (perPod), and answered flows are never early-dropped: so it is full.
        var harness = Harness(LocalWeb, "{ maxEntries: 1024, timeouts: { udp: 5, udpStream: 5 }, perPod: { maxEntries: 1024 } }", batchSize: 64);
        Assert.Equal(1024, harness.Dataplane.Conntrack.Capacity);

        harness.Send("client", C("S"), T0);
        harness.Send("web-1", B("SA"), T0);
        harness.Send("client", C("A"), T0);

        // 1023 more flows (web-2 -> client, routed), each answered, fill the table.
        var fill = new List<(string, byte[], long)>();
        var answers = new List<(string, byte[], long)>();
        for (int i = 0; i < 1023; i++)
        {
            fill.Add(("web-2", Udp4(Web2Mac, GatewayMac, Web2Ip, ClientIp, (ushort)(10000 + i), 9999), T0 + Second));
            answers.Add(("client", Udp4(ClientMac, Web2Mac, ClientIp, Web2Ip, 9999, (ushort)(10000 + i)), T0 + Second));
        }

        Assert.Equal(1023, harness.Send(fill).Count);
        Assert.Equal(1023, harness.Send(answers).Count);
        Assert.Equal(1024, harness.Dataplane.Conntrack.Count);

        // New flows are refused, service or not, and counted.
        Assert.Empty(harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40001, 80, "S", 1, 0), T0 + (2 * Second)));
        Assert.Empty(harness.Send("client", Udp4(ClientMac, GatewayMac, ClientIp, Web2Ip, 9000, 9999), T0 + (2 * Second)));
        Assert.Equal(2, harness.Drops("conntrack", "table-full"));

        // The established flow still passes, both ways.
        AssertSent(harness.Send("client", C("A", 2, 2), T0 + (2 * Second)), "web-1", Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, ClientPort, 8080, "A", 2, 2, ttl: 63));
        AssertSent(harness.Send("web-1", B("A", 2, 2), T0 + (2 * Second)), "client", Tcp4(Web1Mac, ClientMac, Vip, ClientIp, 80, ClientPort, "A", 2, 2));

        // The refused service flow did not leave an open connection counted on the backend.
        Assert.Equal(1, Nat.Port(harness, Vip, L4Protocol.Tcp, 80).OpenConnections(0));

        // Once the UDP flows have expired, a new flow gets room (the insert sweeps for it).
        Assert.Single(harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40001, 80, "S", 1, 0), T0 + (7 * Second)));
        Assert.Equal(2, harness.Drops("conntrack", "table-full"));
    }

    [Fact]
    public void Removing_an_endpoint_flushes_its_tcp_and_udp_flows_at_once_and_leaves_the_others()
    {
        var harness = Harness(TwoWeb);
        ServicePortPair ports = new(Nat.Port(harness, Vip, L4Protocol.Tcp, 80), Nat.Port(harness, Vip, L4Protocol.Udp, 53));
        ushort tcpLocal = SourcePortFor(ports.Tcp, Web1Ip, ClientIp, Vip, 80, IpProtocol.Tcp);
        ushort tcpRemote = SourcePortFor(ports.Tcp, RemotePodIp, ClientIp, Vip, 80, IpProtocol.Tcp);
        ushort udpLocal = SourcePortFor(ports.Udp, Web1Ip, ClientIp, Vip, 53, IpProtocol.Udp);

        byte[] Tcp(ushort port, string flags) => Tcp4(ClientMac, GatewayMac, ClientIp, Vip, port, 80, flags, 1, 1);
        byte[] Udp(ushort port) => Udp4(ClientMac, GatewayMac, ClientIp, Vip, port, 53, Dns(false));

        Assert.Equal("web-1", Assert.Single(harness.Send("client", Tcp(tcpLocal, "S"), T0)).Port);
        Assert.Equal("uplink", Assert.Single(harness.Send("client", Tcp(tcpRemote, "S"), T0)).Port);
        Assert.Equal("client", Assert.Single(harness.Send("uplink", Tcp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 8080, tcpRemote, "SA", 1, 2), T0)).Port);
        Assert.Equal("web-1", Assert.Single(harness.Send("client", Udp(udpLocal), T0)).Port);
        Assert.Equal(3, Entries(harness, T0).Count);

        // web-1 leaves the service.
        var update = harness.Dataplane.ServiceController.Apply(Service(TwoWeb.Replace("      - { ip: 10.244.1.11 }\n", "", StringComparison.Ordinal)));
        Assert.True(update.Succeeded);
        Assert.Equal(2, update.RemovedBackends.Count); // TCP and UDP port of web-1
        FlowEntry survivor = Assert.Single(Entries(harness, T0));
        Assert.Equal(tcpRemote, survivor.Original.SourcePort);

        // Its TCP flow's next ACK has no entry: dropped, not sent to the remaining backend.
        Assert.Empty(harness.Send("client", Tcp(tcpLocal, "A"), T0 + Second));
        Assert.Equal(1, harness.Drops("conntrack", "midstream-to-service"));

        // Its UDP flow's next packet is re-balanced to the remaining backend.
        AssertSent(harness.Send("client", Udp(udpLocal), T0 + Second), "uplink",
            Udp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, udpLocal, 5353, Dns(false), ttl: 63));

        // The remote backend's flow never noticed.
        Assert.Equal("uplink", Assert.Single(harness.Send("client", Tcp(tcpRemote, "A"), T0 + Second)).Port);
    }

    [Fact]
    public void Removing_a_service_flushes_all_its_flows()
    {
        var harness = Harness(TwoWeb);
        for (ushort p = 1000; p < 1020; p++)
        {
            harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, p, 80, "S", 1, 0), T0);
            harness.Send("client", Udp4(ClientMac, GatewayMac, ClientIp, Vip, p, 53, Dns(false)), T0);
        }

        harness.Send("client", Udp4(ClientMac, GatewayMac, ClientIp, Web2Ip, 5000, 5000), T0); // not a service flow
        Assert.Equal(41, Entries(harness, T0).Count);
        Assert.True(harness.Dataplane.ServiceController.Remove("default/web")!.Succeeded);
        FlowEntry left = Assert.Single(Entries(harness, T0));
        Assert.Equal(IpAddress.Parse(Web2Ip), left.Original.Destination);
    }

    [Fact]
    public void Terminating_endpoint_keeps_its_established_flows_and_gets_no_new_ones()
    {
        var harness = Harness(TwoWeb);
        ServicePortPair ports = new(Nat.Port(harness, Vip, L4Protocol.Tcp, 80), Nat.Port(harness, Vip, L4Protocol.Udp, 53));
        ushort tcpLocal = SourcePortFor(ports.Tcp, Web1Ip, ClientIp, Vip, 80, IpProtocol.Tcp);
        ushort udpLocal = SourcePortFor(ports.Udp, Web1Ip, ClientIp, Vip, 53, IpProtocol.Udp);

        harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, tcpLocal, 80, "S", 1, 0), T0);
        harness.Send("web-1", Tcp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 8080, tcpLocal, "SA", 1, 2), T0);
        harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, tcpLocal, 80, "A", 2, 2), T0);
        harness.Send("client", Udp4(ClientMac, GatewayMac, ClientIp, Vip, udpLocal, 53, Dns(false)), T0);

        var update = harness.Dataplane.ServiceController.Apply(Service(TwoWeb.Replace("{ ip: 10.244.1.11 }", "{ ip: 10.244.1.11, terminating: true }", StringComparison.Ordinal)));
        Assert.True(update.Succeeded);
        Assert.Empty(update.RemovedBackends);
        Assert.Equal(2, Entries(harness, T0).Count);

        // The established flows go on to web-1, both ways.
        AssertSent(harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, tcpLocal, 80, "PA", 2, 2, [1, 2, 3]), T0 + Second),
            "web-1", Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, tcpLocal, 8080, "PA", 2, 2, [1, 2, 3], ttl: 63));
        AssertSent(harness.Send("web-1", Tcp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 8080, tcpLocal, "PA", 2, 5, [4]), T0 + Second),
            "client", Tcp4(Web1Mac, ClientMac, Vip, ClientIp, 80, tcpLocal, "PA", 2, 5, [4]));
        Assert.Equal("web-1", Assert.Single(harness.Send("client", Udp4(ClientMac, GatewayMac, ClientIp, Vip, udpLocal, 53, Dns(false)), T0 + Second)).Port);

        // New flows, including ones Maglev used to send to web-1, all go to the remaining backend.
        for (ushort p = 20000; p < 20200; p++)
        {
            Assert.Equal("uplink", Assert.Single(harness.Send("client", Tcp4(ClientMac, GatewayMac, ClientIp, Vip, p, 80, "S", 1, 0), T0 + Second)).Port);
            Assert.Equal("uplink", Assert.Single(harness.Send("client", Udp4(ClientMac, GatewayMac, ClientIp, Vip, p, 53, Dns(false)), T0 + Second)).Port);
        }

        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void Session_affinity_pins_a_client_to_one_backend_until_the_affinity_timeout_elapses()
    {
        string services = TwoWeb.Replace("    ports:", "    sessionAffinity: ClientIP\n    sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } }\n    ports:", StringComparison.Ordinal);
        var harness = Harness(services, "{ maxEntries: 4096, timeouts: { tcpSynSent: 1 } }");
        ServicePort port = Nat.Port(harness, Vip, L4Protocol.Tcp, 80);
        Assert.Equal(SessionAffinity.ClientIP, port.SessionAffinity);

        // The first flow is placed by Maglev on web-1 and creates the affinity entry.
        ushort first = SourcePortFor(port, Web1Ip, ClientIp, Vip, 80, IpProtocol.Tcp);
        byte[] Syn(ushort p) => Tcp4(ClientMac, GatewayMac, ClientIp, Vip, p, 80, "S", 1, 0);
        Assert.Equal("web-1", Assert.Single(harness.Send("client", Syn(first), T0)).Port);

        // Flows Maglev alone would send to the remote backend stick to web-1, and each one refreshes the entry,
        // long after their own conntrack entries (1 s) are gone.
        var remoteByMaglev = new List<ushort>();
        for (ushort p = 1024; remoteByMaglev.Count < 20; p++)
        {
            if (MaglevPick(port, ClientIp, p, Vip, 80, IpProtocol.Tcp) == IpAddress.Parse(RemotePodIp))
            {
                remoteByMaglev.Add(p);
            }
        }

        long now = T0;
        foreach (ushort p in remoteByMaglev)
        {
            now += 9 * Second;
            Assert.Equal("web-1", Assert.Single(harness.Send("client", Syn(p), now)).Port);
        }

        // More than the affinity timeout without a new flow: the next flow is placed by Maglev again.
        now += 11 * Second;
        Assert.Equal("uplink", Assert.Single(harness.Send("client", Syn(remoteByMaglev[0]), now)).Port);
        ServicePortCounters counters = port.Counters;
        Assert.Equal(20, counters.AffinityHits);
        Assert.Equal(1, counters.AffinityExpired);

        Assert.Empty(harness.AllDrops());
    }

    private readonly record struct ServicePortPair(ServicePort Tcp, ServicePort Udp);
}
