using static Dataplane.Tests.Pipeline.TestNode;
using static Dataplane.Tests.Pipeline.UplinkHostConfigs;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// node.hostPort: the node's kernel behind a TAP, reached at L3. It resolves its link-local next hop (169.254.1.1,
/// fe80::1) by proxy ARP / NA to the dataplane's MAC; frames for the node's addresses go to it; what it sends is
/// routed like a pod's, from the node's addresses only and without masquerade.
/// </summary>
[Trait("Category", "unit")]
public sealed class HostPortTests
{
    private const string NextHop = "169.254.1.1";

    [Fact]
    public void Kernel_arp_for_its_next_hop_is_answered_by_proxy_arp_with_the_dataplane_mac()
    {
        var harness = new PipelineHarness(WithHostPort());
        Sent reply = Assert.Single(harness.Send(HostName, Frames.ArpRequest(HostMac, UplinkIp, NextHop)));
        Assert.Equal(HostName, reply.Port);
        FrameAssert.SameBytes(Frames.ArpReply(GatewayMac, NextHop, HostMac, UplinkIp), reply.Frame, "proxy ARP reply to the kernel");
    }

    [Fact]
    public void Kernel_arp_for_anything_else_is_dropped_not_bridged_to_the_pods()
    {
        var harness = new PipelineHarness(WithHostPort());
        Assert.Empty(harness.Send(HostName, Frames.ArpRequest(HostMac, UplinkIp, Web1Ip)));
        Assert.Equal(1, harness.Drops("arp", "not-for-us"));
        Assert.Empty(harness.Send(HostName, Frames.Udp4(HostMac, "ff:ff:ff:ff:ff:ff", UplinkIp, "255.255.255.255", 68, 67)));
        Assert.Equal(1, harness.Drops("bridge", "host-multicast"));
    }

    [Fact]
    public void Kernel_solicitation_for_its_ipv6_next_hop_is_answered_with_the_dataplane_mac()
    {
        var harness = new PipelineHarness(WithHostPort());
        byte[] solicitation = Build.NeighborSolicitation(HostMac, "33:33:ff:00:00:01", HostLinkLocal, "ff02::1:ff00:1", "fe80::1");
        Sent advertisement = Assert.Single(harness.Send(HostName, solicitation));
        Assert.Equal(HostName, advertisement.Port);
        FrameAssert.SameBytes(
            Build.NeighborAdvertisement(GatewayMac, HostMac, "fe80::1", HostLinkLocal, "fe80::1", router: true, solicited: true, @override: true, GatewayMac),
            advertisement.Frame, "advertisement of fe80::1 to the kernel");
    }

    [Fact]
    public void Traffic_to_the_node_ip_goes_to_the_kernel_and_its_reply_goes_back_out_the_uplink()
    {
        var harness = new PipelineHarness(WithHostPort());
        harness.Send("uplink", Frames.ArpRequest(OutsideMac, OutsideIp, UplinkIp));

        Sent syn = Assert.Single(harness.Send("uplink", Frames.Tcp4(OutsideMac, UplinkMac, OutsideIp, UplinkIp, 40000, 22, syn: true)));
        Assert.Equal(HostName, syn.Port);
        FrameAssert.SameBytes(Frames.Tcp4(GatewayMac, HostMac, OutsideIp, UplinkIp, 40000, 22, syn: true, ttl: 63), syn.Frame, "SYN to the kernel");

        Sent synAck = Assert.Single(harness.Send(HostName, Frames.Tcp4(HostMac, GatewayMac, UplinkIp, OutsideIp, 22, 40000, syn: true, ack: true, seq: 5000, ackNumber: 1001)));
        Assert.Equal("uplink", synAck.Port);
        FrameAssert.SameBytes(Frames.Tcp4(UplinkMac, OutsideMac, UplinkIp, OutsideIp, 22, 40000, syn: true, ack: true, seq: 5000, ackNumber: 1001, ttl: 63), synAck.Frame, "SYN-ACK to the outside host");
        Assert.Empty(harness.AllDrops());
    }

    [Fact]
    public void Ping_of_the_node_ip_from_a_pod_reaches_the_kernel_but_the_gateway_ip_stays_the_dataplanes()
    {
        var harness = new PipelineHarness(WithHostPort());
        Sent toKernel = Assert.Single(harness.Send("client", Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, UplinkIp)));
        Assert.Equal(HostName, toKernel.Port);
        FrameAssert.SameBytes(Frames.Icmp4Echo(GatewayMac, HostMac, ClientIp, UplinkIp, ttl: 63), toKernel.Frame, "echo request to the kernel");

        Sent fromGateway = Assert.Single(harness.Send(HostName, Frames.Icmp4Echo(HostMac, GatewayMac, UplinkIp, GatewayIp)));
        Assert.Equal(HostName, fromGateway.Port);
        FrameAssert.SameBytes(Frames.Icmp4Echo(GatewayMac, HostMac, GatewayIp, UplinkIp, reply: true), fromGateway.Frame, "echo reply from the gateway to the kernel");
    }

    [Fact]
    public void Without_a_host_port_the_node_ip_is_served_by_the_dataplane_alone()
    {
        var harness = new PipelineHarness();
        Assert.Empty(harness.Send("uplink", Frames.Tcp4(OutsideMac, UplinkMac, OutsideIp, UplinkIp, 40000, 22, syn: true)));
        Assert.Equal(1, harness.Drops("ip-local", "protocol-not-served"));
        Assert.False(harness.Dataplane.TryGetPort(HostName, out _));
    }

    [Fact]
    public void Kernel_traffic_to_a_pod_and_to_a_cluster_ip_is_routed_with_the_node_ip_as_source()
    {
        var harness = new PipelineHarness(WithHostPort(services: TestConfigs.OneBackendServices));
        Sent toPod = Assert.Single(harness.Send(HostName, Frames.Udp4(HostMac, GatewayMac, UplinkIp, Web2Ip, 5000, 6000)));
        Assert.Equal("web-2", toPod.Port);
        FrameAssert.SameBytes(Frames.Udp4(GatewayMac, Web2Mac, UplinkIp, Web2Ip, 5000, 6000, ttl: 63), toPod.Frame, "kernel to pod");

        Sent toService = Assert.Single(harness.Send(HostName, Frames.Tcp4(HostMac, GatewayMac, UplinkIp, Vip, 41000, 80, syn: true)));
        Assert.Equal("web-1", toService.Port);
        FrameAssert.SameBytes(Frames.Tcp4(GatewayMac, Web1Mac, UplinkIp, Web1Ip, 41000, 8080, syn: true, ttl: 63), toService.Frame, "kernel to the service's backend, not masqueraded");
        FrameAssert.ChecksumsValid(toService.Frame);

        Sent reply = Assert.Single(harness.Send("web-1", Frames.Tcp4(Web1Mac, GatewayMac, Web1Ip, UplinkIp, 8080, 41000, syn: true, ack: true, seq: 7000, ackNumber: 1001)));
        Assert.Equal(HostName, reply.Port);
        FrameAssert.SameBytes(Frames.Tcp4(GatewayMac, HostMac, Vip, UplinkIp, 80, 41000, syn: true, ack: true, seq: 7000, ackNumber: 1001, ttl: 63), reply.Frame, "backend's reply, from the VIP, to the kernel");
    }

    [Theory]
    [InlineData("pod's address as source", "spoofed-ip4")]
    [InlineData("another MAC", "spoofed-mac")]
    [InlineData("ARP as a pod", "spoofed-arp")]
    public void Kernel_may_only_send_from_the_node_addresses(string what, string reason)
    {
        var harness = new PipelineHarness(WithHostPort());
        byte[] frame = what switch
        {
            "pod's address as source" => Frames.Udp4(HostMac, GatewayMac, ClientIp, Web1Ip, 5000, 6000),
            "another MAC" => Frames.Udp4("02:00:00:00:99:99", GatewayMac, UplinkIp, Web1Ip, 5000, 6000),
            _ => Frames.ArpRequest(HostMac, ClientIp, NextHop),
        };

        Assert.Empty(harness.Send(HostName, frame));
        Assert.Equal(1, harness.Drops("source-guard", reason));
        Assert.Equal([$"source-guard/{reason}"], harness.AllDrops());
    }

    [Fact]
    public void Host_port_is_a_port_of_its_own_kind_after_the_uplink_and_not_flooded_to()
    {
        var harness = new PipelineHarness(WithHostPort());
        Assert.True(harness.Dataplane.TryGetPort(HostName, out Dataplane.Pipeline.Port host));
        Assert.Equal(Dataplane.Pipeline.PortKind.Host, host.Kind);
        Assert.Equal(1, host.Id);
        Assert.DoesNotContain(host.Id, harness.Dataplane.Ports.FloodPorts);

        List<Sent> flooded = harness.Send("client", Frames.ArpRequest(ClientMac, ClientIp, "10.244.1.99"));
        Assert.Equal(["web-1", "web-2"], flooded.Select(static s => s.Port).Order().ToArray());
    }
}
