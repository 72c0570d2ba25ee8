using Dataplane.Conntrack;
using Dataplane.Control;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tests.Pipeline;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Control;

/// <summary>
/// Routes learned from the cluster's Nodes at run time: programmed, shared next hops, removed, refused with a reason,
/// and the file's routes left alone.
/// </summary>
[Trait("Category", "unit")]
public sealed class RouteControllerTests
{
    private const string NodeDIp = "192.168.77.13";
    private const string NodeDMac = "02:00:00:00:77:13";
    private const string NodeDPod = "10.244.4.5";
    private const string NodeDPod2 = "10.244.5.5";

    private static RouteConfig Route(string cidr, string via, string? mac = NodeDMac)
        => new(IpPrefix.Parse(cidr), IpAddress.Parse(via), mac is null ? null : MacAddress.Parse(mac));

    // Each call is a new flow (its own source port): a flow conntrack saw before a route existed keeps what it was given then.
    private static int s_port = 5000;

    private static List<Sent> ToPod(PipelineHarness harness, string ip, ushort? sport = null)
        => harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, ip, sport ?? (ushort)Interlocked.Increment(ref s_port), 6000));

    /// <summary>No route: the client hears ICMP destination unreachable from its gateway, nothing leaves by the uplink.</summary>
    private static void AssertUnreachable(List<Sent> sent)
    {
        Sent reply = Assert.Single(sent);
        Assert.Equal("client", reply.Port);
        var icmp = Frames.Parse(reply.Frame).Extract<PacketDotNet.IcmpV4Packet>();
        Assert.Equal(PacketDotNet.IcmpV4TypeCode.UnreachableNet, icmp.TypeCode);
    }

    [Fact]
    public void Learned_route_forwards_to_its_next_hop_until_it_is_removed()
    {
        var harness = new PipelineHarness();
        AssertUnreachable(ToPod(harness, NodeDPod));

        RouteSync added = harness.Dataplane.Routes.Replace([Route("10.244.4.0/24", NodeDIp)]);
        Assert.Single(added.Applied);
        Sent sent = Assert.Single(ToPod(harness, NodeDPod, 4000));
        Assert.Equal("uplink", sent.Port);
        FrameAssert.SameBytes(Frames.Udp4(UplinkMac, NodeDMac, ClientIp, NodeDPod, 4000, 6000, ttl: 63), sent.Frame, "packet to node-d");

        RouteSync same = harness.Dataplane.Routes.Replace([Route("10.244.4.0/24", NodeDIp)]);
        Assert.False(same.Changed);
        Assert.Equal(1, same.Unchanged);

        RouteSync removed = harness.Dataplane.Routes.Replace([]);
        Assert.Single(removed.Removed);
        AssertUnreachable(ToPod(harness, NodeDPod));
        Assert.Empty(harness.Dataplane.Routes.Routes);
    }

    [Fact]
    public void Next_hop_shared_by_two_routes_stays_until_the_last_goes_and_its_slot_is_reused()
    {
        var harness = new PipelineHarness();
        int before = harness.Dataplane.Adjacencies.Available;
        harness.Dataplane.Routes.Replace([Route("10.244.4.0/24", NodeDIp), Route("10.244.5.0/24", NodeDIp)]);
        Assert.Equal(before - 1, harness.Dataplane.Adjacencies.Available);

        harness.Dataplane.Routes.Replace([Route("10.244.5.0/24", NodeDIp)]);
        AssertUnreachable(ToPod(harness, NodeDPod));
        Assert.Equal("uplink", Assert.Single(ToPod(harness, NodeDPod2)).Port);

        harness.Dataplane.Routes.Replace([]);
        Assert.Equal(before, harness.Dataplane.Adjacencies.Available);
    }

    [Fact]
    public void Moved_route_follows_its_new_next_hop()
    {
        var harness = new PipelineHarness();
        harness.Dataplane.Routes.Replace([Route("10.244.4.0/24", NodeDIp)]);
        harness.Dataplane.Routes.Replace([Route("10.244.4.0/24", "192.168.77.14", "02:00:00:00:77:14")]);

        Sent sent = Assert.Single(ToPod(harness, NodeDPod, 4001));
        FrameAssert.SameBytes(Frames.Udp4(UplinkMac, "02:00:00:00:77:14", ClientIp, NodeDPod, 4001, 6000, ttl: 63), sent.Frame, "packet to the new next hop");
    }

    [Theory]
    [InlineData("10.244.2.0/24", "192.168.77.13", "node.yaml routes this CIDR already")]
    [InlineData("10.244.1.0/25", "192.168.77.13", "overlaps this node's pod CIDR 10.244.1.0/24")]
    [InlineData("10.244.0.0/16", "192.168.77.13", "overlaps this node's pod CIDR")]
    [InlineData("10.244.4.0/24", "192.168.78.13", "not on the uplink's subnet 192.168.77.0/24")]
    [InlineData("10.244.4.0/24", "192.168.77.10", "this node's own address")]
    [InlineData("10.244.4.0/24", "fd00:77::13", "not of the CIDR's family")]
    public void Route_the_node_cannot_take_is_refused_with_its_reason_and_the_rest_apply(string cidr, string via, string problem)
    {
        var harness = new PipelineHarness();
        RouteSync sync = harness.Dataplane.Routes.Replace([Route(cidr, via), Route("10.244.6.0/24", NodeDIp)]);

        (RouteConfig refused, string why) = Assert.Single(sync.Refused);
        Assert.Equal(cidr, refused.Cidr.ToString());
        Assert.Contains(problem, why, StringComparison.Ordinal);
        Assert.Equal("10.244.6.0/24", Assert.Single(sync.Applied).Cidr.ToString());

        // The file's route to node-b is still there.
        Assert.Equal("uplink", Assert.Single(ToPod(harness, RemotePodIp)).Port);
    }

    [Fact]
    public void Same_cidr_twice_is_refused_once()
    {
        var harness = new PipelineHarness();
        RouteSync sync = harness.Dataplane.Routes.Replace([Route("10.244.4.0/24", NodeDIp), Route("10.244.4.0/24", "192.168.77.14")]);
        Assert.Contains("routed twice", Assert.Single(sync.Refused).Problem, StringComparison.Ordinal);
        Assert.Single(sync.Applied);
    }

    [Fact]
    public void Masquerade_keeps_pod_addresses_toward_learned_routes_and_takes_them_back_when_the_route_goes()
    {
        var policy = new MasqueradePolicy([IpPrefix.Parse("10.244.1.0/24")], [IpPrefix.Parse("10.244.1.0/24")], [IpAddress.Parse(UplinkIp)]);
        var toNodeD = new FlowKey(IpAddress.Parse(ClientIp), IpAddress.Parse(NodeDPod), 5000, 6000, (byte)IpProtocol.Udp);
        Assert.True(policy.Applies(toNodeD));

        policy.SetNonMasquerade([IpPrefix.Parse("10.244.1.0/24"), IpPrefix.Parse("10.244.4.0/24")]);
        Assert.False(policy.Applies(toNodeD));

        policy.SetNonMasquerade([IpPrefix.Parse("10.244.1.0/24")]);
        Assert.True(policy.Applies(toNodeD));
    }

    [Theory]
    [InlineData("10.244.0.0/24 10.244.1.0/24 10.244.2.0/24 10.244.3.0/24", "10.244.0.0/22")]
    [InlineData("10.244.1.0/24 10.244.0.0/16 10.245.0.0/16", "10.244.0.0/15")]
    [InlineData("10.244.1.0/24 10.244.3.0/24", "10.244.1.0/24 10.244.3.0/24")]
    [InlineData("fd00:10:244:1::/64 10.244.1.0/24 fd00:10:244::/64", "10.244.1.0/24 fd00:10:244::/63")]
    [InlineData("0.0.0.0/1 128.0.0.0/1", "0.0.0.0/0")]
    public void Coalesce_merges_siblings_and_drops_what_is_covered(string input, string expected)
    {
        IpPrefix[] merged = IpPrefix.Coalesce(input.Split(' ').Select(IpPrefix.Parse));
        Assert.Equal(expected, string.Join(' ', merged.Select(static p => p.ToString())));
    }
}
