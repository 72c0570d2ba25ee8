using Dataplane.Conntrack;

namespace Dataplane.Tests.Metrics;

/// <summary>The lock-free ring conntrack writes flow events into for `ctl flows --follow`.</summary>
[Trait("Category", "unit")]
public sealed class FlowEventRingTests
{
    [Fact]
    public void Events_from_several_writers_are_all_read_once_and_in_each_writers_order()
    {
        var ring = new FlowEventRing(capacity: 1 << 16);
        const int writers = 4, perWriter = 10_000;
        Parallel.For(0, writers, w =>
        {
            for (int i = 0; i < perWriter; i++)
            {
                var entry = new FlowEntry { BackendId = (w << 20) | i };
                Assert.True(ring.TryPublish(FlowEventKind.New, in entry));
            }
        });

        int[] next = new int[writers];
        int read = 0;
        while (ring.TryRead(out FlowEvent e))
        {
            int writer = e.Entry.BackendId >> 20, index = e.Entry.BackendId & 0xFFFFF;
            Assert.Equal(next[writer], index);
            next[writer]++;
            read++;
        }

        Assert.Equal(writers * perWriter, read);
        Assert.Equal(0, ring.Lost);
    }

    [Fact]
    public void A_full_ring_refuses_and_counts_instead_of_blocking_and_frees_slots_as_they_are_read()
    {
        var ring = new FlowEventRing(capacity: 8);
        var entry = new FlowEntry { BackendId = 1 };
        for (int i = 0; i < 8; i++)
        {
            Assert.True(ring.TryPublish(FlowEventKind.New, in entry));
        }

        Assert.False(ring.TryPublish(FlowEventKind.End, in entry));
        Assert.Equal(1, ring.Lost);
        Assert.True(ring.TryRead(out _));
        Assert.True(ring.TryPublish(FlowEventKind.End, in entry));
    }

    [Fact]
    public void The_conntrack_table_reports_creation_and_removal_only_while_followed()
    {
        var table = new ConntrackTable(1024, Dataplane.Packets.IpAddress.Parse("10.244.1.1"), default);
        var flow = new FlowEntry
        {
            Original = new FlowKey { SourceLo = 0xFFFF_0A00_0001, DestinationLo = 0xFFFF_0A00_0002, SourcePort = 1, DestinationPort = 2, Protocol = Dataplane.Packets.IpProtocol.Udp },
            Expires = long.MaxValue,
        };
        flow.NatLo = flow.Original.DestinationLo;
        flow.NatPort = 2;
        Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in flow, 0, allowPortRemap: false, out int unfollowed, out _));
        table.Remove(unfollowed);
        Assert.False(table.Events.TryRead(out _));

        table.Events.Follow();
        Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in flow, 0, allowPortRemap: false, out int entry, out _));
        table.Remove(entry);

        Assert.True(table.Events.TryRead(out FlowEvent created));
        Assert.True(table.Events.TryRead(out FlowEvent ended));
        Assert.False(table.Events.TryRead(out _));
        Assert.Equal((FlowEventKind.New, (ushort)1), (created.Kind, created.Entry.Original.SourcePort));
        Assert.Equal((FlowEventKind.End, (ushort)1), (ended.Kind, ended.Entry.Original.SourcePort));
    }
}
