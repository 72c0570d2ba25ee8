using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tests.Pipeline;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Control;

/// <summary>
/// Pods added and removed at run time through <see cref="Dataplane.Control.PodController"/>, driven through the same
/// pipeline replay uses: a late pod must be bridged, routed, flooded to and guarded exactly like a static one, and
/// leave nothing behind when it goes.
/// </summary>
[Trait("Category", "unit")]
public class PodControllerTests
{
    private const string LateMac = "0a:58:0a:f4:01:1e";
    private const string LateIp = "10.244.1.30";
    private const string LateIp6 = "fd00:10:244:1::30";
    private const string ClientLinkLocal = "fe80::aff:fef4:114";

    private static PodConfig Late(string name = "late", string ip = LateIp, string mac = LateMac)
        => new(name, Ip4Address.Parse(ip), Ip6Address.Parse(LateIp6), MacAddress.Parse(mac), null);

    private static string[] Ports(List<Sent> sent) => [.. sent.Select(static s => s.Port)];

    [Fact]
    public void A_pod_added_at_run_time_is_bridged_routed_flooded_to_and_guarded_like_a_static_one()
    {
        var harness = new PipelineHarness();
        Port port = harness.Dataplane.PodController.Add(Late(), 1500);
        Assert.Equal(PortKind.Pod, port.Kind);
        Assert.True(harness.Dataplane.TryGetPort("late", out _));

        // Its MAC is known from the start: a frame to it goes to it alone, never flooded to the other pods.
        Assert.Equal(["late"], Ports(harness.Send("client", Frames.Udp4(ClientMac, LateMac, ClientIp, LateIp, 5000, 6000))));
        Assert.Equal(0, harness.Event("bridge", "unknown-unicast-flooded"));

        // Routed to its host route: rewritten to its MAC.
        List<Sent> routed = harness.Send("web-1", Frames.Udp4(Web1Mac, GatewayMac, Web1Ip, LateIp, 5001, 6000));
        Assert.Equal(["late"], Ports(routed));
        Assert.Equal(MacAddress.Parse(LateMac), MacAddress.Read(routed[0].Frame));

        // And over IPv6 (dual-stack pods): its /128 goes to it too.
        Assert.Equal(["late"], Ports(harness.Send("web-1", Frames.Udp6(Web1Mac, GatewayMac, Web1Ip6, LateIp6, 5001, 6000))));

        // A broadcast reaches it like any pod.
        Assert.Contains("late", Ports(harness.Send("web-2", Frames.Udp4(Web2Mac, "ff:ff:ff:ff:ff:ff", Web2Ip, "10.244.1.255", 68, 67))));

        // It sends from its own addresses only.
        Assert.Equal(["client"], Ports(harness.Send("late", Frames.Udp4(LateMac, ClientMac, LateIp, ClientIp, 6000, 5000))));
        Assert.Empty(harness.Send("late", Frames.Udp4(LateMac, ClientMac, Web1Ip, ClientIp, 6000, 5000)));
        Assert.Equal(1, harness.Drops("source-guard", "spoofed-ip4"));
    }

    [Fact]
    public void Removing_a_pod_takes_its_route_mac_entry_and_flows_and_frees_its_port_for_the_next()
    {
        var harness = new PipelineHarness();
        Dataplane.Control.PodController pods = harness.Dataplane.PodController;
        Port late = pods.Add(Late(), 1500);
        Assert.Single(harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, LateIp, 5000, 6000)));
        Assert.True(FlowsWith(harness, LateIp) > 0);

        PodConfig removed = pods.Remove("late")!;
        int flushed = pods.FlushFlows(removed);

        Assert.True(flushed > 0);
        Assert.Equal(0, FlowsWith(harness, LateIp));
        Assert.False(harness.Dataplane.TryGetPort("late", out _));
        Assert.Null(pods.Remove("late"));

        // Its address answers "host unreachable" from the gateway again; its MAC is unknown unicast, flooded to the others only.
        List<Sent> unreachable = harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, LateIp, 5002, 6000));
        Assert.Equal(["client"], Ports(unreachable));
        Assert.Equal(Icmp4Type.DestinationUnreachable, unreachable[0].Frame[EthernetHeader.Size + 20]);
        Assert.Equal(["web-1", "web-2"], Ports(harness.Send("client", Frames.Udp4(ClientMac, LateMac, ClientIp, LateIp, 5003, 6000))).Order());

        // A frame still carrying the removed port's id (none should: its fd is detached first) is dropped, never let through unchecked.
        Assert.Empty(harness.SendOnPortId(late.Id, Frames.Udp4(LateMac, ClientMac, LateIp, ClientIp, 6000, 5000)));
        Assert.Equal(1, harness.Drops("source-guard", "port-gone"));

        Port next = pods.Add(Late("next", "10.244.1.31", "0a:58:0a:f4:01:1f"), 1400);
        Assert.Equal(late.Id, next.Id);
        Assert.Equal(1400, harness.Dataplane.Ports.Mtu[next.Id]);
    }

    [Fact]
    public void A_pod_that_cannot_be_added_is_refused_with_every_reason_and_changes_nothing()
    {
        var harness = new PipelineHarness();
        Dataplane.Control.PodController pods = harness.Dataplane.PodController;
        int ports = harness.Dataplane.Ports.Count;

        AssertRefused(pods, Late(ip: "10.244.9.9"), "outside the node's pod CIDR 10.244.1.0/24");
        AssertRefused(pods, Late(ip: Web1Ip), "pod web-1 has that address already");
        AssertRefused(pods, Late(mac: Web1Mac), "pod web-1 has MAC");
        AssertRefused(pods, Late(name: "web-1"), "a port named 'web-1' exists already");
        AssertRefused(pods, Late(ip: GatewayIp), "gateway, network or broadcast");
        AssertRefused(pods, Late(ip: "10.244.1.255"), "gateway, network or broadcast");
        AssertRefused(pods, Late(mac: "01:00:5e:00:00:01"), "must be unicast");
        Assert.Contains("MTU 20 is outside 68..65535", Assert.Throws<InvalidOperationException>(() => pods.Add(Late(), 20)).Message, StringComparison.Ordinal);
        Assert.Equal(ports, harness.Dataplane.Ports.Count);
    }

    [Fact]
    public void A_full_node_refuses_another_pod_naming_dataplane_maxPods()
    {
        var harness = new PipelineHarness(TestConfigs.With("dataplane: { maxPods: 3 }"));
        Assert.Equal(3, harness.Dataplane.MaxPods);
        AssertRefused(harness.Dataplane.PodController, Late(), "holds 3 pods (dataplane.maxPods)");

        Assert.NotNull(harness.Dataplane.PodController.Remove("web-2"));
        Assert.Equal("late", harness.Dataplane.PodController.Add(Late(), 1500).Name);
    }

    [Fact]
    public void A_pod_whose_link_local_address_is_not_eui64_stable_privacy_passes_the_source_guard_from_it_and_only_it()
    {
        const string StablePrivacy = "fe80::1c2d:3e4f:5a6b:7c8d";
        var harness = new PipelineHarness();
        harness.Dataplane.PodController.Add(Late(), 1500, Ip6Address.Parse(StablePrivacy));

        Assert.Equal(["client"], Ports(harness.Send("late", Frames.Udp6(LateMac, ClientMac, StablePrivacy, ClientLinkLocal, 5000, 6000))));
        Assert.Empty(harness.Send("late", Frames.Udp6(LateMac, ClientMac, "fe80::bad:1", ClientLinkLocal, 5000, 6000)));
        Assert.Equal(1, harness.Drops("source-guard", "spoofed-ip6"));
    }

    private static void AssertRefused(Dataplane.Control.PodController pods, PodConfig pod, string reason)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => pods.Add(pod, 1500));
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
    }

    private static int FlowsWith(PipelineHarness harness, string ip)
    {
        IpAddress address = Ip4Address.Parse(ip);
        return harness.Dataplane.Conntrack.Snapshot(PipelineHarness.T0).Count(f => f.Entry.Original.Destination == address || f.Entry.Original.Source == address);
    }
}
