using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Dataplane.Cli.Commands;
using Dataplane.Conntrack;
using Dataplane.Daemon;
using Dataplane.Packets;
using Dataplane.Replay;
using Dataplane.Tests.Pipeline;
using static Dataplane.Tests.Conntrack.Nat;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// conntrack.accounting (nf_conntrack_acct): packets and bytes per flow and direction, counted by the conntrack
/// stage into arrays beside the entries, reported by the table, the flow events and `ctl flows --follow`.
/// </summary>
[Trait("Category", "unit")]
public sealed class ConntrackAccountingTests
{
    private const ushort ClientPort = 40000;
    private const string On = "{ maxEntries: 4096, accounting: true }";
    private const string Off = "{ maxEntries: 4096 }";

    private static byte[] C(string flags, uint seq = 1, uint ack = 1, byte[]? data = null) => Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientPort, 80, flags, seq, ack, data);

    private static byte[] B(string flags, uint seq = 1, uint ack = 1, byte[]? data = null) => Tcp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 8080, ClientPort, flags, seq, ack, data);

    /// <summary>What the kernel counts for a packet: the IPv4 total length, read from the frame itself.</summary>
    private static long IpLength(byte[] frame) => BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + 2));

    /// <summary>Handshake plus 100 bytes from the client and 1000 back: 3 original packets, 2 reply packets.</summary>
    private static (byte[] Frame, bool Reply)[] Connection() =>
    [
        (C("S", seq: 1000, ack: 0), false),
        (B("SA", seq: 5000, ack: 1001), true),
        (C("A", seq: 1001, ack: 5001), false),
        (C("PA", seq: 1001, ack: 5001, data: new byte[100]), false),
        (B("PA", seq: 5001, ack: 1101, data: new byte[1000]), true),
    ];

    private static int FlowIndex(PipelineHarness harness, long now)
    {
        var key = new FlowKey(IpAddress.Parse(ClientIp), IpAddress.Parse(Vip), ClientPort, 80, IpProtocol.Tcp);
        return Assert.Single(harness.Dataplane.Conntrack.Snapshot(now), f => f.Entry.Original == key).Index;
    }

    [Fact]
    public void Packets_and_bytes_are_counted_per_direction_and_reported_in_the_table_and_the_end_event()
    {
        PipelineHarness harness = Harness(LocalWeb, On);
        ConntrackTable table = harness.Dataplane.Conntrack;
        Assert.True(table.Accounting);
        table.Events.Follow();

        (byte[] Frame, bool Reply)[] connection = Connection();
        foreach ((byte[] frame, bool reply) in connection)
        {
            Assert.Single(harness.Send(reply ? "web-1" : "client", frame, T0));
        }

        Assert.Empty(harness.AllDrops());
        var expected = new FlowCounters(
            OriginalPackets: 3, OriginalBytes: connection.Where(static c => !c.Reply).Sum(static c => IpLength(c.Frame)),
            ReplyPackets: 2, ReplyBytes: connection.Where(static c => c.Reply).Sum(static c => IpLength(c.Frame)));
        Assert.Equal(40 + 40 + 140, expected.OriginalBytes); // 20-byte IPv4 and TCP headers, no Ethernet
        Assert.Equal(40 + 1040, expected.ReplyBytes);
        Assert.Equal(expected, table.Counters(FlowIndex(harness, T0)));

        Assert.Equal(1, table.RemoveWhere(static _ => true));
        Assert.True(table.Events.TryRead(out FlowEvent created));
        Assert.True(table.Events.TryRead(out FlowEvent ended));
        Assert.False(table.Events.TryRead(out _));
        Assert.Equal((FlowEventKind.New, (FlowCounters?)default(FlowCounters)), (created.Kind, created.Counters));
        Assert.Equal((FlowEventKind.End, (FlowCounters?)expected), (ended.Kind, ended.Counters));

        // As `ctl flows --follow` prints it: the daemon's JSON, then the CLI's conntrack -E style line.
        using JsonDocument json = JsonDocument.Parse(JsonSerializer.Serialize(ControlCommands.DescribeEvent(in ended, DateTime.UtcNow), ReplayRun.JsonOptions));
        var text = new StringWriter();
        CtlOutput.WriteFlowEvent(json.RootElement, null, text);
        Assert.EndsWith($"ESTABLISHED  packets=3 bytes={expected.OriginalBytes} | packets=2 bytes={expected.ReplyBytes}", text.ToString().TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_reused_entry_starts_from_zero()
    {
        PipelineHarness harness = Harness(LocalWeb, On);
        ConntrackTable table = harness.Dataplane.Conntrack;
        foreach ((byte[] frame, bool reply) in Connection())
        {
            harness.Send(reply ? "web-1" : "client", frame, T0);
        }

        table.RemoveWhere(static _ => true);
        byte[] syn = C("S", seq: 7000, ack: 0);
        Assert.Single(harness.Send("client", syn, T0 + Second));

        Assert.Equal(new FlowCounters(1, IpLength(syn), 0, 0), table.Counters(FlowIndex(harness, T0 + Second)));
    }

    [Fact]
    public void Accounting_off_allocates_no_counters_and_reports_none()
    {
        PipelineHarness off = Harness(LocalWeb, Off);
        PipelineHarness on = Harness(LocalWeb, On);
        ConntrackTable table = off.Dataplane.Conntrack;
        table.Events.Follow();

        foreach ((byte[] frame, bool reply) in Connection())
        {
            Assert.Single(off.Send(reply ? "web-1" : "client", frame, T0));
        }

        Assert.False(table.Accounting);
        Assert.Null(table.Counters(FlowIndex(off, T0)));

        // Off: entries, index and free list only, as before accounting existed; on: 4 longs more per entry.
        long withoutCounters = (4096L * (Unsafe.SizeOf<FlowEntry>() + sizeof(int))) + (table.BucketCount * 64L);
        Assert.Equal(withoutCounters, table.MemoryBytes);
        Assert.Equal(withoutCounters + (4096L * 4 * sizeof(long)), on.Dataplane.Conntrack.MemoryBytes);

        table.RemoveWhere(static _ => true);
        Assert.True(table.Events.TryRead(out FlowEvent created));
        Assert.True(table.Events.TryRead(out FlowEvent ended));
        Assert.Null(created.Counters);
        Assert.Null(ended.Counters);

        ControlCommands.FlowEventInfo info = ControlCommands.DescribeEvent(in ended, DateTime.UtcNow);
        Assert.Null(info.Flow.OriginalPackets);
        using JsonDocument json = JsonDocument.Parse(JsonSerializer.Serialize(info, ReplayRun.JsonOptions));
        var text = new StringWriter();
        CtlOutput.WriteFlowEvent(json.RootElement, null, text);
        Assert.DoesNotContain("packets=", text.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("ESTABLISHED", text.ToString().TrimEnd(), StringComparison.Ordinal);
    }
}
