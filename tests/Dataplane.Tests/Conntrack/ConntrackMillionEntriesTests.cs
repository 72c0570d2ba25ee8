using System.Diagnostics;
using Dataplane.Conntrack;
using Dataplane.Packets;
using Xunit.Abstractions;

namespace Dataplane.Tests.Conntrack;

/// <summary>Runs alone (no other test allocates meanwhile), so the GC's view of the table's size is the table's.</summary>
[CollectionDefinition(nameof(MemoryMeasurement), DisableParallelization = true)]
public sealed class MemoryMeasurement;

[Collection(nameof(MemoryMeasurement))]
[Trait("Category", "slow")]
public class ConntrackMillionEntriesTests(ITestOutputHelper output)
{
    private const int Live = 1_000_000;
    private const int MaxEntries = 1 << 20;
    private const long Now = 1_000_000_000_000;
    private static readonly ulong Vip = IpAddress.Parse("10.96.0.10").Bits.Lo;

    /// <summary>Flow i: client 10.0.0.0 + i/50, source port 10000 + i%50, to VIP:80, DNATed to one of 100 backends.</summary>
    private static FlowEntry Flow(int i) => new()
    {
        Original = new FlowKey
        {
            SourceLo = 0x0000_FFFF_0000_0000UL | (0x0A00_0000u + (uint)(i / 50)),
            DestinationLo = Vip,
            SourcePort = (ushort)(10000 + (i % 50)),
            DestinationPort = 80,
            Protocol = IpProtocol.Tcp,
        },
        NatLo = 0x0000_FFFF_0000_0000UL | (0x0AF4_0100u + (uint)(i % 100)),
        NatPort = 8080,
        Flags = FlowFlags.Dnat | FlowFlags.Service,
        TcpState = TcpState.Established,
        Expires = long.MaxValue,
    };

    private static FlowKey ReplyKey(int i)
    {
        FlowEntry flow = Flow(i);
        return new FlowKey
        {
            SourceLo = flow.NatLo,
            DestinationLo = flow.Original.SourceLo,
            SourcePort = 8080,
            DestinationPort = flow.Original.SourcePort,
            Protocol = IpProtocol.Tcp,
        };
    }

    [Fact]
    public void A_million_live_flows_fit_in_128_bytes_each_and_every_lookup_still_works()
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var table = new ConntrackTable(MaxEntries, ConntrackTableTests.Gateway4, ConntrackTableTests.Gateway6);
        long allocated = GC.GetTotalMemory(forceFullCollection: true) - before;

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Live; i++)
        {
            FlowEntry flow = Flow(i);
            InsertResult result = table.FindOrInsert(in flow, Now, allowPortRemap: false, out _, out _);
            if (result != InsertResult.Inserted)
            {
                Assert.Fail($"flow {i} ({flow.Original}): {result} at {table.Count} entries");
            }
        }

        TimeSpan insert = clock.Elapsed;
        Assert.Equal(Live, table.Count);

        clock.Restart();
        for (int i = 0; i < Live; i++)
        {
            FlowEntry flow = Flow(i);
            FlowKey reply = ReplyKey(i);
            if (!table.TryLookup(in flow.Original, Now, out int entry, out bool isReply) || isReply
                || !table.TryLookup(in reply, Now, out int replyEntry, out isReply) || !isReply || replyEntry != entry)
            {
                Assert.Fail($"flow {i} ({flow.Original}) not found from both directions");
            }
        }

        TimeSpan both = clock.Elapsed;

        var random = new Random(1234);
        clock.Restart();
        for (int n = 0; n < Live; n++)
        {
            int i = random.Next(Live);
            FlowEntry flow = Flow(i);
            if (!table.TryLookup(in flow.Original, Now, out int entry, out _) || table.Entry(entry).NatLo != flow.NatLo)
            {
                Assert.Fail($"random lookup of flow {i} failed");
            }
        }

        TimeSpan random1M = clock.Elapsed;
        long afterInserts = GC.GetTotalMemory(forceFullCollection: true) - before;

        double perEntry = table.MemoryBytes / (double)Live;
        double gcPerEntry = afterInserts / (double)Live;
        output.WriteLine($"capacity {table.Capacity}, live {table.Count}");
        output.WriteLine($"MemoryBytes {table.MemoryBytes:N0} = {perEntry:F1} B per live entry");
        output.WriteLine($"GC.GetTotalMemory delta {allocated:N0} after construction, {afterInserts:N0} after 1M inserts = {gcPerEntry:F1} B per live entry");
        output.WriteLine($"1M inserts {insert.TotalMilliseconds:F0} ms, 2M lookups (both directions) {both.TotalMilliseconds:F0} ms, 1M random lookups {random1M.TotalMilliseconds:F0} ms");

        Assert.True(perEntry <= 128, $"{perEntry:F1} bytes per entry by MemoryBytes");
        Assert.True(gcPerEntry <= 128, $"{gcPerEntry:F1} bytes per entry by GC.GetTotalMemory");
        GC.KeepAlive(table);
    }
}
