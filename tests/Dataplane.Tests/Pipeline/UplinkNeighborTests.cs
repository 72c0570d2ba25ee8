using Dataplane.Packets;
using Dataplane.Tables;
using static Dataplane.Tests.Pipeline.TestNode;
using static Dataplane.Tests.Pipeline.UplinkHostConfigs;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// The uplink's subnet is a connected route: each host on it is resolved on its own (a glean adjacency and the
/// neighbour table), learned from the ARP and ND the dataplane sees there, as a host's kernel learns; and
/// node.uplink.gateway / gatewayV6 are default routes.
/// </summary>
[Trait("Category", "unit")]
public sealed class UplinkNeighborTests
{
    private const long Millisecond = 1_000_000;

    private static byte[] ClientToOutside(string ip = OutsideIp) => Frames.Udp4(ClientMac, GatewayMac, ClientIp, ip, 5000, 6000);

    [Fact]
    public void Arp_request_from_an_outside_host_is_answered_and_the_asker_learned_so_replies_need_no_arp()
    {
        var harness = new PipelineHarness(UplinkHostConfigs.Config());

        Sent reply = Assert.Single(harness.Send("uplink", Frames.ArpRequest(OutsideMac, OutsideIp, UplinkIp)));
        FrameAssert.SameBytes(Frames.ArpReply(UplinkMac, UplinkIp, OutsideMac, OutsideIp), reply.Frame, "ARP reply to the outside host");
        Assert.Equal(1, harness.Event("arp", "neighbors-learned"));

        Sent forwarded = Assert.Single(harness.Send("client", ClientToOutside()));
        Assert.Equal("uplink", forwarded.Port);
        FrameAssert.SameBytes(Frames.Udp4(UplinkMac, OutsideMac, ClientIp, OutsideIp, 5000, 6000, ttl: 63), forwarded.Frame, "packet to the outside host");
        Assert.Equal(0, harness.Event("ip4-lookup", "arp-requests-sent"));
        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void Packet_to_an_unknown_host_on_the_uplink_subnet_becomes_an_arp_request_once_a_second_and_flows_after_the_reply()
    {
        var harness = new PipelineHarness(UplinkHostConfigs.Config());

        Sent request = Assert.Single(harness.Send("client", ClientToOutside(), PipelineHarness.T0));
        Assert.Equal("uplink", request.Port);
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, OutsideIp), request.Frame, "ARP request for the outside host");
        Assert.Equal(1, harness.Drops("ip4-lookup", "next-hop-unresolved"));

        Assert.Empty(harness.Send("client", ClientToOutside(), PipelineHarness.T0 + (500 * Millisecond)));
        Assert.Equal(2, harness.Drops("ip4-lookup", "next-hop-unresolved"));
        Assert.Equal(1, harness.Event("ip4-lookup", "arp-requests-sent"));

        // Another host of the subnet is asked for at once: the limit is per destination.
        Sent other = Assert.Single(harness.Send("client", ClientToOutside("192.168.77.51"), PipelineHarness.T0 + (600 * Millisecond)));
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, "192.168.77.51"), other.Frame, "ARP request for the second host");

        Sent again = Assert.Single(harness.Send("client", ClientToOutside(), PipelineHarness.T0 + (1000 * Millisecond)));
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, OutsideIp), again.Frame, "repeated ARP request");

        Assert.Empty(harness.Send("uplink", Frames.ArpReply(OutsideMac, OutsideIp, UplinkMac, UplinkIp), PipelineHarness.T0 + (1100 * Millisecond)));
        Assert.Equal(1, harness.Event("arp", "neighbors-learned"));
        Sent forwarded = Assert.Single(harness.Send("client", ClientToOutside(), PipelineHarness.T0 + (1200 * Millisecond)));
        FrameAssert.SameBytes(Frames.Udp4(UplinkMac, OutsideMac, ClientIp, OutsideIp, 5000, 6000, ttl: 63), forwarded.Frame, "packet to the outside host");
        FrameAssert.ChecksumsValid(forwarded.Frame);
    }

    [Fact]
    public void Arp_between_other_hosts_creates_no_neighbor_but_updates_a_known_one()
    {
        var harness = new PipelineHarness(UplinkHostConfigs.Config());
        // A gratuitous ARP (and a request for another host) is not about us: Linux creates no entry for its sender.
        Assert.Empty(harness.Send("uplink", Frames.ArpRequest(OutsideMac, OutsideIp, OutsideIp)));
        Assert.Empty(harness.Send("uplink", Frames.ArpRequest(OutsideMac, OutsideIp, "192.168.77.99")));
        Assert.Equal(0, harness.Event("arp", "neighbors-learned"));
        Assert.Equal("arp-request", ArpOrForward(harness));

        harness.Send("uplink", Frames.ArpRequest(OutsideMac, OutsideIp, UplinkIp));
        const string movedMac = "02:00:00:00:77:99";
        Assert.Empty(harness.Send("uplink", Frames.ArpRequest(movedMac, OutsideIp, OutsideIp)));
        Assert.Equal(2, harness.Event("arp", "neighbors-learned"));
        Sent forwarded = Assert.Single(harness.Send("client", ClientToOutside()));
        FrameAssert.SameBytes(Frames.Udp4(UplinkMac, movedMac, ClientIp, OutsideIp, 5000, 6000, ttl: 63), forwarded.Frame, "packet to the moved host");
    }

    private static string ArpOrForward(PipelineHarness harness)
    {
        Sent sent = Assert.Single(harness.Send("client", ClientToOutside()));
        return sent.Frame[12] == 0x08 && sent.Frame[13] == 0x06 ? "arp-request" : "forwarded";
    }

    [Fact]
    public void Neighbor_not_confirmed_for_its_max_age_is_asked_for_again()
    {
        var harness = new PipelineHarness(UplinkHostConfigs.Config());
        harness.Send("uplink", Frames.ArpRequest(OutsideMac, OutsideIp, UplinkIp), PipelineHarness.T0);
        Sent fresh = Assert.Single(harness.Send("client", ClientToOutside(), PipelineHarness.T0 + NeighborTable.MaxAgeNanoseconds));
        FrameAssert.SameBytes(Frames.Udp4(UplinkMac, OutsideMac, ClientIp, OutsideIp, 5000, 6000, ttl: 63), fresh.Frame, "packet while the neighbour is fresh");

        Sent stale = Assert.Single(harness.Send("client", ClientToOutside(), PipelineHarness.T0 + NeighborTable.MaxAgeNanoseconds + 1));
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, OutsideIp), stale.Frame, "ARP request for the stale neighbour");
    }

    [Fact]
    public void Ipv6_solicitation_from_an_outside_host_is_answered_and_learned_and_unknown_hosts_are_solicited()
    {
        var harness = new PipelineHarness(UplinkHostConfigs.Config());
        byte[] solicitation = Build.NeighborSolicitation(OutsideMac, "33:33:ff:00:00:10", OutsideIp6, "ff02::1:ff00:10", UplinkIp6);
        Sent advertisement = Assert.Single(harness.Send("uplink", solicitation));
        Assert.Equal("uplink", advertisement.Port);
        Assert.Equal(1, harness.Event("ndp", "neighbors-learned"));

        byte[] toOutside = Frames.Udp6(ClientMac, GatewayMac, ClientIp6, OutsideIp6, 5000, 6000);
        Sent forwarded = Assert.Single(harness.Send("client", toOutside));
        FrameAssert.SameBytes(Frames.Udp6(UplinkMac, OutsideMac, ClientIp6, OutsideIp6, 5000, 6000, hopLimit: 63), forwarded.Frame, "packet to the outside host");

        Sent solicit = Assert.Single(harness.Send("client", Frames.Udp6(ClientMac, GatewayMac, ClientIp6, "fd00:77::60", 5000, 6000)));
        FrameAssert.SameBytes(Build.NeighborSolicitation(UplinkMac, "33:33:ff:00:00:60", UplinkIp6, "ff02::1:ff00:60", "fd00:77::60"), solicit.Frame, "solicitation for the unknown host");
        FrameAssert.ChecksumsValid(solicit.Frame);
        Assert.Equal(1, harness.Drops("ip6-lookup", "next-hop-unresolved"));

        byte[] answer = Build.NeighborAdvertisement("02:00:00:00:77:60", UplinkMac, "fd00:77::60", UplinkIp6, "fd00:77::60", router: false, solicited: true, @override: true, "02:00:00:00:77:60");
        Assert.Empty(harness.Send("uplink", answer));
        Assert.Equal(2, harness.Event("ndp", "neighbors-learned"));
        Assert.Equal("uplink", Assert.Single(harness.Send("client", Frames.Udp6(ClientMac, GatewayMac, ClientIp6, "fd00:77::60", 5000, 6000))).Port);
    }

    [Fact]
    public void Without_a_gateway_off_subnet_destinations_have_no_route()
    {
        var harness = new PipelineHarness(UplinkHostConfigs.Config());
        Sent error = Assert.Single(harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, InternetIp, 5000, 6000)));
        Assert.Equal("client", error.Port);
        Assert.Equal(1, harness.Event("icmp-error", "errors-sent"));
    }

    [Fact]
    public void Default_route_sends_off_subnet_traffic_to_the_gateway_mac()
    {
        var harness = new PipelineHarness(UplinkHostConfigs.Config($"gateway: {RouterIp}, gatewayMac: {RouterMac}"));
        Sent forwarded = Assert.Single(harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, InternetIp, 5000, 6000)));
        Assert.Equal("uplink", forwarded.Port);
        FrameAssert.SameBytes(Frames.Udp4(UplinkMac, RouterMac, ClientIp, InternetIp, 5000, 6000, ttl: 63), forwarded.Frame, "packet to the internet via the router");

        // Longer prefixes still win: another node's pods go to that node, not the router.
        Sent toNodeB = Assert.Single(harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5000, 6000)));
        FrameAssert.SameBytes(Frames.Udp4(UplinkMac, NodeBMac, ClientIp, RemotePodIp, 5000, 6000, ttl: 63), toNodeB.Frame, "packet to node-b");
    }

    [Fact]
    public void Gateway_without_a_mac_is_resolved_by_arp_and_the_ipv6_gateway_by_nd()
    {
        var harness = new PipelineHarness(UplinkHostConfigs.Config($"gateway: {RouterIp}, gatewayV6: {RouterIp6}"));
        Sent request = Assert.Single(harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, InternetIp, 5000, 6000)));
        FrameAssert.SameBytes(Frames.ArpRequest(UplinkMac, UplinkIp, RouterIp), request.Frame, "ARP request for the router");
        Sent solicit = Assert.Single(harness.Send("client", Frames.Udp6(ClientMac, GatewayMac, ClientIp6, InternetIp6, 5000, 6000)));
        FrameAssert.SameBytes(Build.NeighborSolicitation(UplinkMac, "33:33:ff:00:00:01", UplinkIp6, "ff02::1:ff00:1", RouterIp6), solicit.Frame, "solicitation for the router");

        harness.Send("uplink", Frames.ArpReply(RouterMac, RouterIp, UplinkMac, UplinkIp));
        Sent forwarded = Assert.Single(harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, InternetIp, 5000, 6000)));
        FrameAssert.SameBytes(Frames.Udp4(UplinkMac, RouterMac, ClientIp, InternetIp, 5000, 6000, ttl: 63), forwarded.Frame, "packet via the resolved router");
    }

    [Fact]
    public void Neighbor_table_learns_only_its_subnets_and_forgets_the_oldest_when_a_bucket_is_full()
    {
        var table = new NeighborTable(capacity: 4);
        table.AddConnected(IpPrefix.Parse("192.168.77.0/24"));
        Assert.Equal(NeighborLearn.None, table.Learn(Ip4Address.Parse("10.0.0.1"), MacAddress.Parse("02:00:00:00:00:01"), 1, create: true));
        Assert.Equal(NeighborLearn.None, table.Learn(Ip4Address.Parse("192.168.77.1"), MacAddress.Parse("02:00:00:00:00:01"), 1, create: false));

        for (int i = 1; i <= 4; i++)
        {
            Assert.Equal(NeighborLearn.Added, table.Learn(Ip4Address.Parse($"192.168.77.{i}"), new MacAddress((ulong)(0x0200_0000_0000 + i)), i, create: true));
        }

        Assert.Equal(NeighborLearn.Refreshed, table.Learn(Ip4Address.Parse("192.168.77.1"), new MacAddress(0x0200_0000_0001), 10, create: false));
        Assert.Equal(NeighborLearn.Added, table.Learn(Ip4Address.Parse("192.168.77.5"), new MacAddress(0x0200_0000_0005), 11, create: true));
        Assert.Equal(1, table.Evictions);
        Assert.Equal(0UL, table.Lookup(Ip4Address.Parse("192.168.77.2"), 12));
        Assert.Equal(0x0200_0000_0001UL, table.Lookup(Ip4Address.Parse("192.168.77.1"), 12));
        Assert.Equal(0x0200_0000_0005UL, table.Lookup(Ip4Address.Parse("192.168.77.5"), 12));
        Assert.Equal(4, table.Snapshot().Count);
    }
}
