using Dataplane.Conntrack;
using Dataplane.Daemon;
using Dataplane.Packets;
using Dataplane.Protocol;
using Dataplane.Tests.Conntrack;
using Xunit.Abstractions;

namespace Dataplane.Tests.Daemon;

/// <summary>
/// `ctl conntrack` and `ctl flows` read the table in pages, in place: what one call costs depends on the page, not
/// on the table (issue 12: about 14 MB of garbage per call at 64k entries before).
/// </summary>
[Trait("Category", "unit")]
public sealed class ConntrackListingTests(ITestOutputHelper output)
{
    private const long T = 1_000_000_000_000;

    /// <summary>Flow i: client 10.1.x.y port 1000 + i % 50000 to a service, one backend per 8 flows.</summary>
    private static ConntrackTable Filled(int capacity, int flows, Func<int, long>? expires = null)
    {
        ConntrackTable table = ConntrackTableTests.Table(capacity);
        for (int i = 0; i < flows; i++)
        {
            FlowEntry flow = ConntrackTableTests.ServiceFlow($"10.1.{i / 250}.{(i % 250) + 1}", (ushort)(1000 + (i % 50000)), "10.96.0.10", 80,
                $"10.244.1.{10 + (i % 8)}", 8080, expires?.Invoke(i) ?? T + 1_000_000_000);
            Assert.Equal(InsertResult.Inserted, table.FindOrInsert(in flow, T, allowPortRemap: false, out _, out _));
        }

        return table;
    }

    [Fact]
    public void Listing_a_64k_entry_table_allocates_for_its_page_not_for_the_table()
    {
        ConntrackTable table = Filled(65536, 60_000);
        var request = new ControlRequest { Command = "conntrack" };
        ConntrackListing.List(table, request, T); // JIT and first-use allocations out of the measurement

        long before = GC.GetAllocatedBytesForCurrentThread();
        ConntrackListing.ConntrackResult result = ConntrackListing.List(table, request, T);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        output.WriteLine($"one `ctl conntrack` page of {result.Flows.Count} over {result.Total} flows: {allocated} bytes allocated");
        Assert.Equal(60_000, result.Total);
        Assert.Equal(60_000, result.Matched);
        Assert.Equal(ConntrackListing.DefaultLimit, result.Flows.Count);
        Assert.NotNull(result.Next);
        // Measured: 37 KB for a page of 100 here; the old whole-table copy made 16.9 MB per call at 60,000 flows.
        Assert.True(allocated < 256 * 1024, $"{allocated} bytes allocated for one page");
    }

    [Fact]
    public void Following_next_pages_through_every_live_flow_exactly_once()
    {
        // Every third flow has expired: live ones only, and the pages still cover all of them.
        ConntrackTable table = Filled(4096, 1000, i => i % 3 == 0 ? T - 1 : T + 1_000_000_000);
        var seen = new List<int>();
        int? after = null;
        int pages = 0;
        do
        {
            ConntrackListing.ConntrackResult page = ConntrackListing.List(table, new ControlRequest { Command = "conntrack", Count = 64, After = after }, T);
            Assert.Equal(666, page.Total);
            Assert.InRange(page.Flows.Count, 1, 64);
            seen.AddRange(page.Flows.Select(static f => f.SourcePort));
            after = page.Next;
            pages++;
        }
        while (after is not null);

        int[] live = [.. Enumerable.Range(0, 1000).Where(static i => i % 3 != 0).Select(static i => 1000 + i)];
        Assert.Equal(live.Order(), seen.Order());
        Assert.Equal((666 + 63) / 64, pages);
    }

    [Fact]
    public void Matched_counts_the_whole_table_while_the_page_holds_at_most_the_limit()
    {
        ConntrackTable table = Filled(4096, 800);

        ConntrackListing.ConntrackResult result = ConntrackListing.List(table, new ControlRequest { Command = "conntrack", Ip = "10.244.1.13", Count = 10 }, T);

        Assert.Equal(800, result.Total);
        Assert.Equal(100, result.Matched);
        Assert.Equal(10, result.Flows.Count);
        Assert.All(result.Flows, static f => Assert.Equal("10.244.1.13", f.Backend));
    }

    [Fact]
    public void Flush_removes_exactly_the_matching_flows()
    {
        ConntrackTable table = Filled(4096, 800);

        ConntrackListing.ConntrackResult result = ConntrackListing.List(table, new ControlRequest { Command = "conntrack", Ip = "10.244.1.13", Flush = true }, T);

        Assert.Equal((800, 100, 100), (result.Total, result.Matched, result.Removed));
        Assert.Empty(result.Flows);
        Assert.Equal(700, table.Count);
        Assert.Equal(0, ConntrackListing.List(table, new ControlRequest { Command = "conntrack", Ip = "10.244.1.13" }, T).Matched);
    }
}
