using Dataplane.Conntrack;
using Dataplane.Packets;
using static Dataplane.Tests.Conntrack.ConntrackTableTests;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// Fair conntrack on the table alone (issue 12): early drop of unanswered flows when the table is full, and each
/// pod's cap on entries and its rate of new flows (<see cref="PodFlowLimits"/>).
/// </summary>
[Trait("Category", "unit")]
public sealed class ConntrackFairnessTests
{
    private const long T = 1_000_000_000_000;
    private const long Second = 1_000_000_000;
    private const int Capacity = 1024;

    private static FlowEntry Udp(string client, ushort sport, long expires, ushort owner = 0)
    {
        FlowEntry flow = ServiceFlow(client, sport, "10.96.0.10", 53, "10.244.1.11", 5353, expires, IpProtocol.Udp);
        flow.Owner = owner;
        return flow;
    }

    private static FlowEntry Answered(FlowEntry flow)
    {
        flow.Flags |= FlowFlags.SeenReply;
        if (flow.Original.Protocol == IpProtocol.Tcp)
        {
            flow.TcpState = TcpState.Established;
        }

        return flow;
    }

    private static bool Tracked(ConntrackTable table, in FlowEntry flow, long now) => table.TryLookup(in flow.Original, now, out _, out _);

    /// <summary>Fills the table with unanswered UDP flows from 10.244.1.66 (the flooder), expiring at <paramref name="expires"/>.</summary>
    private static List<FlowEntry> Flood(ConntrackTable table, int count, long expires)
    {
        var flows = new List<FlowEntry>();
        for (int i = 0; i < count; i++)
        {
            FlowEntry flow = Udp("10.244.1.66", (ushort)(1024 + i), expires);
            Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in flow, T, true, out _, out _));
            flows.Add(flow);
        }

        return flows;
    }

    [Fact]
    public void A_table_filled_with_one_sources_unanswered_flows_still_takes_a_second_sources_new_flows()
    {
        ConntrackTable table = Table(Capacity);
        List<FlowEntry> flood = Flood(table, Capacity, T + (30 * Second));

        for (ushort p = 40000; p < 40020; p++)
        {
            FlowEntry other = ServiceFlow("10.244.1.20", p, "10.96.0.10", 80, "10.244.1.12", 8080, T + (120 * Second));
            Assert.Equal(InsertResult.InsertedByEarlyDrop, table.FindOrInsert(in other, T + Second, true, out int entry, out _));
            Assert.True(Tracked(table, in other, T + Second));
            Assert.Equal(other.Original, table.Entry(entry).Original);
        }

        // Each of the second source's flows took exactly one flood flow's room; the table never grew.
        Assert.Equal(Capacity, table.Count);
        Assert.Equal(Capacity - 20, flood.Count(f => Tracked(table, in f, T + Second)));
    }

    [Fact]
    public void Answered_flows_are_never_early_dropped_and_a_table_full_of_them_refuses()
    {
        ConntrackTable table = Table(Capacity);
        var answered = new List<FlowEntry>();
        for (int i = 0; i < Capacity; i++)
        {
            // Every other flow answered: UDP with a reply seen, TCP established; they expire first, so a policy that
            // ignored the reply would pick them.
            FlowEntry flow = i % 2 == 0
                ? Answered(Udp("10.244.1.30", (ushort)(1024 + i), T + Second))
                : Udp("10.244.1.66", (ushort)(1024 + i), T + (30 * Second));
            if (i % 4 == 0)
            {
                flow = Answered(ServiceFlow("10.244.1.31", (ushort)(1024 + i), "10.96.0.10", 80, "10.244.1.11", 8080, T + Second));
            }

            Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in flow, T, true, out _, out _));
            if ((flow.Flags & FlowFlags.SeenReply) != 0)
            {
                answered.Add(flow);
            }
        }

        // New unanswered flows keep coming: each is inserted in the room of an unanswered flow (an old one or a
        // newer one of these), or refused when none is near its bucket; never in an answered flow's room.
        int earlyDrops = 0;
        for (int i = 0; i < 4 * Capacity; i++)
        {
            FlowEntry flow = Udp("10.244.1.99", (ushort)(1024 + i), T + (60 * Second));
            switch (table.FindOrInsert(in flow, T, true, out _, out _))
            {
                case InsertResult.InsertedByEarlyDrop:
                    earlyDrops++;
                    break;
                case InsertResult.Full:
                    break;
                case InsertResult result:
                    Assert.Fail($"new flow {i}: {result}");
                    break;
            }
        }

        Assert.True(earlyDrops > 0, "no early drop");
        Assert.All(answered, f => Assert.True(Tracked(table, in f, T), $"answered flow {f.Original} was dropped"));

        // A table holding only answered flows refuses, and keeps them all.
        ConntrackTable full = Table(Capacity);
        for (int i = 0; i < Capacity; i++)
        {
            FlowEntry flow = Answered(Udp("10.244.1.30", (ushort)(1024 + i), T + Second));
            full.FindOrInsert(in flow, T, true, out _, out _);
        }

        FlowEntry late = Udp("10.244.1.99", 9, T + Second);
        Assert.Equal(InsertResult.Full, full.FindOrInsert(in late, T, true, out int none, out _));
        Assert.Equal(-1, none);
        Assert.Equal(Capacity, full.Count);
    }

    [Fact]
    public void A_fresh_connection_attempt_outlives_the_flood_that_keeps_early_dropping()
    {
        ConntrackTable table = Table(Capacity);
        Flood(table, Capacity, T + (30 * Second));

        // A SYN (120 s to live) gets in; then the flood goes on, each new flow evicting the candidate nearest its
        // expiry: always an older flood flow (30 s), never the half-open connection, though it is evictable too.
        FlowEntry syn = ServiceFlow("10.244.1.20", 40000, "10.96.0.10", 80, "10.244.1.12", 8080, T + (120 * Second));
        Assert.Equal(InsertResult.InsertedByEarlyDrop, table.FindOrInsert(in syn, T, true, out _, out _));
        for (int i = 0; i < 8 * Capacity; i++)
        {
            FlowEntry flow = Udp("10.244.1.67", (ushort)(1024 + (i % 60000)), T + Second + (30 * Second) + i);
            Assert.Equal(InsertResult.InsertedByEarlyDrop, table.FindOrInsert(in flow, T + Second + i, true, out _, out _));
        }

        Assert.True(Tracked(table, in syn, T + (2 * Second)));
    }

    [Fact]
    public void A_pod_at_its_entry_limit_is_refused_while_other_pods_and_unowned_flows_get_in()
    {
        var limits = new PodFlowLimits(ports: 8, maxEntries: 100, newFlowsPerSecond: 1_000_000, burst: 1_000_000);
        var table = new ConntrackTable(Capacity, Gateway4, Gateway6, podLimits: limits);
        ushort flooder = PodFlowLimits.OwnerOf(3), other = PodFlowLimits.OwnerOf(4);
        var held = new List<int>();
        for (int i = 0; i < 100; i++)
        {
            FlowEntry flow = Udp("10.244.1.66", (ushort)(1024 + i), T + Second, flooder);
            Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in flow, T, true, out int entry, out _));
            held.Add(entry);
        }

        FlowEntry over = Udp("10.244.1.66", 2000, T + Second, flooder);
        Assert.Equal(InsertResult.PodEntryLimit, table.FindOrInsert(in over, T, true, out int refused, out _));
        Assert.Equal(-1, refused);
        Assert.False(Tracked(table, in over, T));
        Assert.Equal(100, limits.Entries(flooder));

        FlowEntry others = Udp("10.244.1.20", 2000, T + Second, other);
        Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in others, T, true, out _, out _));
        FlowEntry unowned = Udp("192.168.77.11", 2000, T + Second);
        Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in unowned, T, true, out _, out _));
        Assert.Equal(1, limits.Entries(other));

        // A flow of the pod that ends (removed, or expired and swept) gives its room back.
        table.Remove(held[0]);
        Assert.Equal(99, limits.Entries(flooder));
        Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in over, T, true, out _, out _));
        new ConntrackSweeper(table).Sweep(T + Second, table.BucketCount);
        Assert.Equal(0, limits.Entries(flooder));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void A_pod_over_its_rate_is_refused_until_its_bucket_refills_and_others_are_not_slowed()
    {
        var limits = new PodFlowLimits(ports: 8, maxEntries: Capacity, newFlowsPerSecond: 10, burst: 5);
        var table = new ConntrackTable(Capacity, Gateway4, Gateway6, podLimits: limits);
        ushort fast = PodFlowLimits.OwnerOf(1), calm = PodFlowLimits.OwnerOf(2);
        ushort port = 1024;
        InsertResult Open(ushort owner, long now)
        {
            FlowEntry flow = Udp(owner == fast ? "10.244.1.66" : "10.244.1.20", port++, now + (30 * Second), owner);
            return table.FindOrInsert(in flow, now, true, out _, out _);
        }

        // The burst, then refused.
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(InsertResult.Inserted, Open(fast, T));
        }

        Assert.Equal(InsertResult.PodRateLimit, Open(fast, T));
        Assert.Equal(InsertResult.PodRateLimit, Open(fast, T + (99 * Second / 1000)));

        // Another pod has its own bucket.
        Assert.Equal(InsertResult.Inserted, Open(calm, T));

        // 10 per second: one more after 100 ms, and no fraction lost to the refused attempt at 99 ms.
        Assert.Equal(InsertResult.Inserted, Open(fast, T + (100 * Second / 1000)));
        Assert.Equal(InsertResult.PodRateLimit, Open(fast, T + (100 * Second / 1000)));
        Assert.Equal(InsertResult.Inserted, Open(fast, T + (200 * Second / 1000)));

        // A long pause refills to the burst, not beyond.
        long later = T + (3600 * Second);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(InsertResult.Inserted, Open(fast, later));
        }

        Assert.Equal(InsertResult.PodRateLimit, Open(fast, later));
    }
}
