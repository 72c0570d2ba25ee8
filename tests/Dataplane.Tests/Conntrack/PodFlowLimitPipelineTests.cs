using Dataplane.Conntrack;
using Dataplane.Packets;
using static Dataplane.Tests.Conntrack.Nat;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// Fair conntrack through the pipeline: a pod's new flows over its share are dropped with a reason naming the limit,
/// charged to the pod they come in from; a full table early-drops an unanswered flow, counted.
/// </summary>
[Trait("Category", "unit")]
public sealed class PodFlowLimitPipelineTests
{
    private static byte[] ClientUdp(ushort sport) => Udp4(ClientMac, GatewayMac, ClientIp, Vip, sport, 53);

    [Fact]
    public void A_pod_over_its_new_flow_rate_is_refused_and_counted_while_another_pod_gets_in()
    {
        var harness = Harness(LocalWeb, "{ maxEntries: 4096, perPod: { newFlowsPerSecond: 10, burst: 5 } }", batchSize: 64);
        var flood = new List<(string, byte[], long)>();
        for (int i = 0; i < 8; i++)
        {
            flood.Add(("client", ClientUdp((ushort)(20000 + i)), T0));
        }

        Assert.Equal(5, harness.Send(flood).Count);
        Assert.Equal(3, harness.Drops("conntrack", "pod-rate-limit"));
        Assert.Single(harness.Send("web-2", Udp4(Web2Mac, GatewayMac, Web2Ip, Vip, 20000, 53), T0));

        PodFlowLimits limits = harness.Dataplane.Conntrack.PodLimits!;
        Assert.True(harness.Dataplane.TryGetPort("client", out var client));
        Assert.Equal(5, limits.Entries(PodFlowLimits.OwnerOf(client.Id)));

        // Known flows are not new flows: the admitted ones keep flowing, uncounted by the limit.
        Assert.Single(harness.Send("client", ClientUdp(20000), T0));
        Assert.Equal(3, harness.Drops("conntrack", "pod-rate-limit"));
    }

    [Fact]
    public void A_pod_at_its_entry_limit_is_refused_and_counted()
    {
        var harness = Harness(LocalWeb, "{ maxEntries: 4096, perPod: { maxEntries: 3 } }");
        for (ushort p = 20000; p < 20003; p++)
        {
            Assert.Single(harness.Send("client", ClientUdp(p), T0));
        }

        Assert.Empty(harness.Send("client", ClientUdp(20003), T0));
        Assert.Equal(1, harness.Drops("conntrack", "pod-entry-limit"));
        Assert.Single(harness.Send("web-2", Udp4(Web2Mac, GatewayMac, Web2Ip, Vip, 20000, 53), T0));
    }

    [Fact]
    public void A_full_table_of_one_pods_unanswered_flows_early_drops_one_for_another_pods_connection()
    {
        var harness = Harness(LocalWeb, "{ maxEntries: 1024, perPod: { maxEntries: 1024 } }", batchSize: 64);
        var flood = new List<(string, byte[], long)>();
        for (int i = 0; i < 1024; i++)
        {
            flood.Add(("client", ClientUdp((ushort)(20000 + i)), T0));
        }

        Assert.Equal(1024, harness.Send(flood).Count);
        Assert.Equal(1024, harness.Dataplane.Conntrack.Count);

        // web-2's SYN to the service gets in, in the room of one of the flood's flows.
        Assert.Single(harness.Send("web-2", Tcp4(Web2Mac, GatewayMac, Web2Ip, Vip, 40000, 80, "S", 1, 0), T0 + 1));
        Assert.Equal(1, harness.Event("conntrack", "early-drop"));
        Assert.Equal(0, harness.Drops("conntrack", "table-full"));
        Assert.Equal(1024, harness.Dataplane.Conntrack.Count);
    }
}
