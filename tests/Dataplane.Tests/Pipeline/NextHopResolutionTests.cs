using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Nodes;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// Next hops without a configured MAC (node-c) are resolved on the uplink: ahead of need by neighbor-probe, which
/// the worker polls once per loop (<see cref="Dataplane.Pipeline.Graph.Poll"/>) and which asks once a second for
/// every unresolved next hop; and when a packet meets one anyway, the packet becomes an ARP request (or neighbor
/// solicitation), packets meanwhile are dropped and counted, at most one request a second, and the reply (or the
/// next hop's own request) resolves it.
/// </summary>
[Trait("Category", "unit")]
public sealed class NextHopResolutionTests
{
    private const long Millisecond = 1_000_000;
    private const string NodeCPodIp = "10.244.3.5";
    private const string NodeCPodIp6 = "fd00:10:244:3::5";
    private const string NodeCIp6 = "fd00:77::12";

    private static byte[] ToNodeC() => Frames.Udp4(ClientMac, GatewayMac, ClientIp, NodeCPodIp, 5000, 6000);

    private static byte[] ToNodeCForwarded() => Frames.Udp4(UplinkMac, NodeCMac, ClientIp, NodeCPodIp, 5000, 6000, ttl: 63);

    [Fact]
    public void Unresolved_next_hop_is_arped_for_once_a_second_and_packets_flow_after_the_reply()
    {
        var harness = new PipelineHarness();

        Sent request = Assert.Single(harness.Send("client", ToNodeC(), PipelineHarness.T0));
        Assert.Equal("uplink", request.Port);
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, NodeCIp), request.Frame, "ARP request for node-c");
        Assert.Equal(1, harness.Drops("ip4-lookup", "next-hop-unresolved"));
        Assert.Equal(1, harness.Event("ip4-lookup", "arp-requests-sent"));

        Assert.Empty(harness.Send("client", ToNodeC(), PipelineHarness.T0 + (500 * Millisecond)));
        Assert.Equal(2, harness.Drops("ip4-lookup", "next-hop-unresolved"));
        Assert.Equal(1, harness.Event("ip4-lookup", "arp-requests-sent"));

        Assert.Empty(harness.Send("uplink", Frames.ArpReply(NodeCMac, NodeCIp, UplinkMac, UplinkIp), PipelineHarness.T0 + (600 * Millisecond)));
        Assert.Equal(1, harness.Event("arp", "next-hops-learned"));
        Assert.Equal(1, harness.Drops("arp", "reply-consumed"));

        Sent forwarded = Assert.Single(harness.Send("client", ToNodeC(), PipelineHarness.T0 + (700 * Millisecond)));
        Assert.Equal("uplink", forwarded.Port);
        FrameAssert.SameBytes(ToNodeCForwarded(), forwarded.Frame, "packet to node-c");
        FrameAssert.ChecksumsValid(forwarded.Frame);
        Assert.Equal(2, harness.Drops("ip4-lookup", "next-hop-unresolved"));
    }

    [Fact]
    public void Unanswered_arp_request_is_repeated_after_a_second()
    {
        var harness = new PipelineHarness();
        harness.Send("client", ToNodeC(), PipelineHarness.T0);
        Assert.Empty(harness.Send("client", ToNodeC(), PipelineHarness.T0 + (999 * Millisecond)));

        Sent again = Assert.Single(harness.Send("client", ToNodeC(), PipelineHarness.T0 + (1000 * Millisecond)));
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, NodeCIp), again.Frame, "repeated ARP request");
        Assert.Equal(2, harness.Event("ip4-lookup", "arp-requests-sent"));
        Assert.Equal(3, harness.Drops("ip4-lookup", "next-hop-unresolved"));
    }

    [Fact]
    public void Next_hops_own_arp_request_for_the_uplink_ip_resolves_it()
    {
        var harness = new PipelineHarness();
        Sent reply = Assert.Single(harness.Send("uplink", Frames.ArpRequest(NodeCMac, NodeCIp, UplinkIp)));
        FrameAssert.SameBytes(Frames.ArpReply(UplinkMac, UplinkIp, NodeCMac, NodeCIp), reply.Frame, "ARP reply to node-c");
        Assert.Equal(1, harness.Event("arp", "next-hops-learned"));

        Sent forwarded = Assert.Single(harness.Send("client", ToNodeC()));
        FrameAssert.SameBytes(ToNodeCForwarded(), forwarded.Frame, "packet to node-c");
    }

    [Fact]
    public void Configured_next_hop_mac_is_not_replaced_by_arp()
    {
        var harness = new PipelineHarness();
        harness.Send("uplink", Frames.ArpReply("02:00:00:00:66:66", NodeBIp, UplinkMac, UplinkIp));
        Assert.Equal(0, harness.Event("arp", "next-hops-learned"));

        Sent forwarded = Assert.Single(harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5000, 6000)));
        FrameAssert.SameBytes(Frames.Udp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, 5000, 6000, ttl: 63), forwarded.Frame, "packet to node-b");
    }

    /// <summary>The test node plus an IPv6 route to node-c's pods through node-c's uplink address, MAC unknown.</summary>
    private static NodeConfig WithIpv6RouteToNodeC()
    {
        string yaml = Yaml();
        string v6Route = $"  - {{ cidr: fd00:10:244:2::/64, via: fd00:77::11, viaMac: {NodeBMac} }}\n";
        Assert.Contains(v6Route, yaml);
        yaml = yaml.Replace(v6Route, $"{v6Route}  - {{ cidr: fd00:10:244:3::/64, via: {NodeCIp6} }}\n", StringComparison.Ordinal);
        return NodeConfigLoader.Parse(yaml, "test-node.yaml").ThrowIfInvalid();
    }

    [Fact]
    public void Unresolved_ipv6_next_hop_is_solicited_and_packets_flow_after_the_advertisement()
    {
        var harness = new PipelineHarness(WithIpv6RouteToNodeC());
        byte[] toNodeC = Frames.Udp6(ClientMac, GatewayMac, ClientIp6, NodeCPodIp6, 5000, 6000);

        Sent solicitation = Assert.Single(harness.Send("client", toNodeC, PipelineHarness.T0));
        Assert.Equal("uplink", solicitation.Port);
        FrameAssert.SameBytes(Build.NeighborSolicitation(UplinkMac, "33:33:ff:00:00:12", UplinkIp6, "ff02::1:ff00:12", NodeCIp6), solicitation.Frame, "neighbor solicitation for node-c");
        FrameAssert.ChecksumsValid(solicitation.Frame);
        Assert.Equal(1, harness.Event("ip6-lookup", "solicitations-sent"));

        Assert.Empty(harness.Send("client", toNodeC, PipelineHarness.T0 + (100 * Millisecond)));
        Assert.Equal(2, harness.Drops("ip6-lookup", "next-hop-unresolved"));
        Assert.Equal(1, harness.Event("ip6-lookup", "solicitations-sent"));

        byte[] advertisement = Build.NeighborAdvertisement(NodeCMac, UplinkMac, NodeCIp6, UplinkIp6, NodeCIp6, router: false, solicited: true, @override: true, NodeCMac);
        Assert.Empty(harness.Send("uplink", advertisement, PipelineHarness.T0 + (200 * Millisecond)));
        Assert.Equal(1, harness.Event("ndp", "next-hops-learned"));
        Assert.Equal(1, harness.Drops("ndp", "advertisement-consumed"));

        Sent forwarded = Assert.Single(harness.Send("client", toNodeC, PipelineHarness.T0 + (300 * Millisecond)));
        FrameAssert.SameBytes(Frames.Udp6(UplinkMac, NodeCMac, ClientIp6, NodeCPodIp6, 5000, 6000, hopLimit: 63), forwarded.Frame, "packet to node-c");
        FrameAssert.ChecksumsValid(forwarded.Frame);
    }

    [Fact]
    public void Neighbor_probe_asks_for_unresolved_next_hops_once_a_second_until_resolved()
    {
        var harness = new PipelineHarness();

        Sent request = Assert.Single(harness.Poll(PipelineHarness.T0));
        Assert.Equal("uplink", request.Port);
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, NodeCIp), request.Frame, "ARP request for node-c");
        Assert.Equal(1, harness.Event("neighbor-probe", "arp-requests-sent"));
        Assert.Equal(1, harness.Stage("neighbor-probe").Packets);
        Assert.Equal(0, harness.Stage("ethernet-input").Packets);

        Assert.Empty(harness.Poll(PipelineHarness.T0 + (999 * Millisecond)));
        Sent again = Assert.Single(harness.Poll(PipelineHarness.T0 + (1000 * Millisecond)));
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, NodeCIp), again.Frame, "repeated ARP request");
        Assert.Equal(2, harness.Event("neighbor-probe", "arp-requests-sent"));

        harness.Send("uplink", Frames.ArpReply(NodeCMac, NodeCIp, UplinkMac, UplinkIp), PipelineHarness.T0 + (1500 * Millisecond));
        Assert.Empty(harness.Poll(PipelineHarness.T0 + (3000 * Millisecond)));
        Sent forwarded = Assert.Single(harness.Send("client", ToNodeC(), PipelineHarness.T0 + (3100 * Millisecond)));
        FrameAssert.SameBytes(ToNodeCForwarded(), forwarded.Frame, "packet to node-c");
        Assert.Equal(0, harness.Drops("ip4-lookup", "next-hop-unresolved"));
    }

    [Fact]
    public void Neighbor_probe_frames_are_counted_on_the_uplink_but_not_as_received()
    {
        var harness = new PipelineHarness();
        harness.Poll(PipelineHarness.T0);
        Dataplane.Pipeline.PortStats uplink = harness.Engine.Stats().Ports.Single(static p => p.Name == "uplink");
        Assert.Equal(1, uplink.TxPackets);
        Assert.Equal(Dataplane.Packets.NeighborSolicitations.ArpRequestLength, uplink.TxBytes);
        Assert.All(harness.Engine.Stats().Ports, static p => Assert.Equal(0, p.RxPackets));
    }

    [Fact]
    public void Neighbor_probe_solicits_unresolved_ipv6_next_hops()
    {
        var harness = new PipelineHarness(WithIpv6RouteToNodeC());
        List<Sent> sent = harness.Poll(PipelineHarness.T0);
        Assert.Equal(2, sent.Count);
        Assert.All(sent, static s => Assert.Equal("uplink", s.Port));
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, NodeCIp), sent[0].Frame, "ARP request for node-c");
        FrameAssert.SameBytes(Build.NeighborSolicitation(UplinkMac, "33:33:ff:00:00:12", UplinkIp6, "ff02::1:ff00:12", NodeCIp6), sent[1].Frame, "neighbor solicitation for node-c");
        FrameAssert.ChecksumsValid(sent[1].Frame);
        Assert.Equal(1, harness.Event("neighbor-probe", "solicitations-sent"));
    }

    [Fact]
    public void A_round_the_batch_cannot_hold_resumes_at_the_next_poll()
    {
        var harness = new PipelineHarness(WithIpv6RouteToNodeC(), batchSize: 1);
        Sent first = Assert.Single(harness.Poll(PipelineHarness.T0));
        Sent second = Assert.Single(harness.Poll(PipelineHarness.T0 + Millisecond));
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, NodeCIp), first.Frame, "ARP request for node-c");
        FrameAssert.SameBytes(Build.NeighborSolicitation(UplinkMac, "33:33:ff:00:00:12", UplinkIp6, "ff02::1:ff00:12", NodeCIp6), second.Frame, "neighbor solicitation for node-c");
        Assert.Empty(harness.Poll(PipelineHarness.T0 + (2 * Millisecond)));
    }

    [Fact]
    public void Neighbor_probe_frames_are_traced_like_received_ones()
    {
        var harness = new PipelineHarness();
        harness.Engine.Graph.Tracer.Arm(1);
        harness.Poll(PipelineHarness.T0);
        string trace = Dataplane.Pipeline.TraceFormatter.Format(harness.Engine.Graph, harness.Dataplane.Ports);
        Assert.Contains("from (made here)", trace);
        Assert.Matches(@"neighbor-probe\s+-> interface-output\s+who-has 192\.168\.77\.12 \(unresolved next hop\)", trace);
        Assert.Contains("tx uplink", trace);
    }

    [Fact]
    public void Probe_frames_live_in_slots_no_receive_uses()
    {
        // The io_uring layout: more slots than packets, reads posted into any of them.
        var dataplane = new NodeDataplane(TestNode.Config());
        var batch = new Dataplane.Pipeline.PacketBatch(4, slotCount: 8);
        Dataplane.Pipeline.Graph graph = dataplane.CreateGraph(batch);
        for (int round = 0; round < 2 * Dataplane.Pipeline.PacketBatch.OriginSlots; round++)
        {
            Assert.True(graph.Poll(PipelineHarness.T0 + (round * NeighborProbe.IntervalNanoseconds)));
            int slot = batch.SlotOf(0);
            Assert.InRange(slot, batch.SlotCount, batch.SlotCount + Dataplane.Pipeline.PacketBatch.OriginSlots - 1);
            graph.Run();
            batch.Clear();
        }
    }
}
