using System.Text;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>The bridge's MAC learning over time: aging, and a full table (fixed capacity, counted).</summary>
[Trait("Category", "unit")]
public sealed class MacLearningTests
{
    private const long Second = 1_000_000_000;

    private static byte[] ClientToWeb1() => Frames.Udp4(ClientMac, Web1Mac, ClientIp, Web1Ip, 5000, 6000);

    private static byte[] Web1ToClient() => Frames.Udp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 6000, 5000);

    [Fact]
    public void A_pods_mac_is_static_so_its_traffic_never_floods_however_long_the_pod_is_silent()
    {
        var harness = new PipelineHarness(TestConfigs.With("dataplane: { macAgingSeconds: 5 }"));
        List<Sent> first = harness.Send("client", ClientToWeb1(), PipelineHarness.T0);
        Assert.Equal(["web-1"], first.Select(static s => s.Port));

        List<Sent> later = harness.Send("client", ClientToWeb1(), PipelineHarness.T0 + (60 * Second));
        Assert.Equal(["web-1"], later.Select(static s => s.Port));
        Assert.Equal(0, harness.Event("bridge", "unknown-unicast-flooded"));
    }

    [Fact]
    public void Traffic_from_a_mac_keeps_it_learned_past_the_aging_time()
    {
        var harness = new PipelineHarness(TestConfigs.With("dataplane: { macAgingSeconds: 5 }"));
        for (int s = 0; s <= 12; s += 3)
        {
            harness.Send("web-1", Web1ToClient(), PipelineHarness.T0 + (s * Second));
        }

        List<Sent> sent = harness.Send("client", ClientToWeb1(), PipelineHarness.T0 + (14 * Second));
        Assert.Equal(["web-1"], sent.Select(static s => s.Port));
    }

    [Fact]
    public void Mac_moving_to_another_port_is_relearned_there()
    {
        // A pod's MAC can only appear on its own port (anti-spoofing), so the move is seen through the table.
        var table = new MacTable(16, 300);
        MacAddress mac = MacAddress.Parse(Web1Mac);
        Assert.True(table.Learn(mac, 1, PipelineHarness.T0));
        Assert.True(table.Learn(mac, 3, PipelineHarness.T0 + 1));
        Assert.True(table.TryLookup(mac, PipelineHarness.T0 + 2, out ushort port));
        Assert.Equal(3, port);
    }

    /// <summary>20 pods each sending one broadcast: 20 source MACs for a 16-entry table.</summary>
    private static NodeConfig ManyPods(int pods)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine($$"""
            node:
              name: node-a
              podCidr: 10.244.1.0/24
              gatewayIp: {{GatewayIp}}
              mac: {{GatewayMac}}
            pods:
            """);
        for (int i = 0; i < pods; i++)
        {
            yaml.AppendLine($"  - {{ name: pod-{i}, ip: 10.244.1.{100 + i}, mac: {PodMac(i)} }}");
        }

        yaml.AppendLine("dataplane: { macTableCapacity: 16 }");
        return NodeConfigLoader.Parse(yaml.ToString(), "many-pods.yaml").ThrowIfInvalid();
    }

    private static string PodMac(int i) => $"02:00:00:00:10:{i:x2}";

    private static byte[] Broadcast(int pod) => Frames.Udp4(PodMac(pod), "ff:ff:ff:ff:ff:ff", $"10.244.1.{100 + pod}", "10.244.1.255", 5000, 6000);

    [Fact]
    public void Full_mac_table_refuses_new_macs_counts_them_and_still_forwards_their_frames()
    {
        const int pods = 20;
        var harness = new PipelineHarness(ManyPods(pods));
        Assert.Equal(16, harness.Dataplane.MacTable.Capacity);

        for (int i = 0; i < pods; i++)
        {
            List<Sent> flood = harness.Send($"pod-{i}", Broadcast(i));
            Assert.Equal(pods - 1, flood.Count); // forwarded whether or not its source was learned
        }

        var learned = harness.Dataplane.MacTable.Entries(PipelineHarness.T0).Select(static e => e.Mac.ToString()).ToHashSet();
        long refused = harness.Event("bridge", "mac-table-full");
        Assert.True(learned.Count <= 16, $"{learned.Count} entries in a 16-entry table");
        Assert.True(refused >= pods - 16, $"only {refused} refusals for {pods} MACs in 16 entries");
        Assert.Equal(pods, learned.Count + refused);
        Assert.Empty(harness.AllDrops());

        // Unicast to a MAC the table refused floods; to one it holds goes to that port alone.
        int notLearned = Enumerable.Range(0, pods).First(i => !learned.Contains(PodMac(i)));
        int held = Enumerable.Range(0, pods).First(i => learned.Contains(PodMac(i)) && i != notLearned);
        int sender = Enumerable.Range(0, pods).First(i => i != notLearned && i != held);
        List<Sent> toRefused = harness.Send($"pod-{sender}", Frames.Udp4(PodMac(sender), PodMac(notLearned), $"10.244.1.{100 + sender}", $"10.244.1.{100 + notLearned}", 1, 2));
        Assert.Equal(pods - 1, toRefused.Count);
        List<Sent> toHeld = harness.Send($"pod-{sender}", Frames.Udp4(PodMac(sender), PodMac(held), $"10.244.1.{100 + sender}", $"10.244.1.{100 + held}", 1, 2));
        Assert.Equal([$"pod-{held}"], toHeld.Select(static s => s.Port));
    }

    [Fact]
    public void Mac_table_capacity_rounds_up_to_a_power_of_two_of_at_least_one_bucket()
    {
        Assert.Equal(16, new MacTable(16, 300).Capacity);
        Assert.Equal(32, new MacTable(17, 300).Capacity);
        Assert.Equal(8, new MacTable(1, 300).Capacity);
    }

    [Fact]
    public void Full_bucket_refuses_a_new_mac_until_an_entry_ages_out()
    {
        // 8 entries are one 8-way bucket: every MAC lands in it.
        var table = new MacTable(8, agingSeconds: 10);
        for (int i = 0; i < 8; i++)
        {
            Assert.True(table.Learn(new MacAddress(0x0200_0000_0000UL + (ulong)i), (ushort)i, PipelineHarness.T0));
        }

        var newcomer = new MacAddress(0x0200_0000_00FFUL);
        Assert.False(table.Learn(newcomer, 9, PipelineHarness.T0 + Second));
        Assert.False(table.TryLookup(newcomer, PipelineHarness.T0 + Second, out _));
        Assert.True(table.Learn(new MacAddress(0x0200_0000_0003UL), 3, PipelineHarness.T0 + (2 * Second))); // known MACs still refresh

        Assert.True(table.Learn(newcomer, 9, PipelineHarness.T0 + (11 * Second)));
        Assert.True(table.TryLookup(newcomer, PipelineHarness.T0 + (11 * Second), out ushort port));
        Assert.Equal(9, port);
        Assert.True(table.TryLookup(new MacAddress(0x0200_0000_0003UL), PipelineHarness.T0 + (11 * Second), out _)); // refreshed at T0+2s, not evicted
    }

    [Fact]
    public void Flushing_a_port_forgets_its_macs_only()
    {
        var table = new MacTable(64, 300);
        table.Learn(MacAddress.Parse(Web1Mac), 1, PipelineHarness.T0);
        table.Learn(MacAddress.Parse(Web2Mac), 2, PipelineHarness.T0);
        table.Flush(1);
        Assert.False(table.TryLookup(MacAddress.Parse(Web1Mac), PipelineHarness.T0, out _));
        Assert.True(table.TryLookup(MacAddress.Parse(Web2Mac), PipelineHarness.T0, out _));
    }
}
