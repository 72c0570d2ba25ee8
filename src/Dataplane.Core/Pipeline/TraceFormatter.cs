using System.Globalization;
using System.Text;

namespace Dataplane.Pipeline;

/// <summary>
/// Turns trace records into a per-packet story, one line per stage (VPP's `show trace`):
/// <code>
/// packet 3 from web-1 at 1700000000.000200: 98 bytes
///   ethernet-input   -> ip4-input         02:00:0a:f4:01:0b > 02:00:00:00:01:01
///   ...
///   interface-output -> (tx)              tx web-2
/// </code>
/// </summary>
public static class TraceFormatter
{
    /// <summary>
    /// <paramref name="toUnixNanoseconds"/> turns packet timestamps into Unix time for display when they are on
    /// another clock (the daemon's is monotonic); null shows them as they are (replay's are the pcap's).
    /// </summary>
    public static string Format(Graph graph, PortTable ports, Func<long, long>? toUnixNanoseconds = null)
    {
        TraceSnapshot trace = graph.Tracer.Read();
        Dictionary<long, TracedPacket> arrivals = Arrivals(trace);
        var text = new StringBuilder();
        foreach ((long packetId, List<TraceRecord> records) in ByPacket(trace.Records))
        {
            text.AppendLine(Header(packetId, arrivals, ports, toUnixNanoseconds));
            foreach (TraceRecord record in records)
            {
                text.AppendLine(Line(graph, in record));
            }
        }

        return text.ToString();
    }

    /// <summary>The same story as data (`ctl trace -o json`): per packet its arrival, per stage its verdict and detail.</summary>
    public static List<TracePacketInfo> Packets(Graph graph, PortTable ports, Func<long, long>? toUnixNanoseconds = null)
    {
        TraceSnapshot trace = graph.Tracer.Read();
        Dictionary<long, TracedPacket> arrivals = Arrivals(trace);
        var packets = new List<TracePacketInfo>();
        foreach ((long packetId, List<TraceRecord> records) in ByPacket(trace.Records))
        {
            bool known = arrivals.TryGetValue(packetId, out TracedPacket packet);
            string? port = !known ? null : PortName(packet.RxPort, ports);
            var stages = new List<TraceStageInfo>(records.Count);
            foreach (TraceRecord record in records)
            {
                Node node = graph.Nodes[record.Node];
                (string verdict, string? next, string? drop) = record.Next switch
                {
                    TraceRecord.Dropped => ("drop", null, record.Code < node.DropReasons.Count ? node.DropReasons[record.Code].Name : "?"),
                    TraceRecord.Transmitted => ("tx", null, null),
                    _ when record.Next == record.Node => ("event", null, null),
                    _ => ("next", graph.Nodes[record.Next].Name, (string?)null),
                };
                stages.Add(new TraceStageInfo(node.Name, verdict, next, drop, node.FormatTrace(in record)));
            }

            long? time = known ? (toUnixNanoseconds is null ? packet.Timestamp : toUnixNanoseconds(packet.Timestamp)) : null;
            packets.Add(new TracePacketInfo(packetId, port, time, known ? packet.Length : null, stages));
        }

        return packets;
    }

    private static Dictionary<long, TracedPacket> Arrivals(TraceSnapshot trace)
    {
        var arrivals = new Dictionary<long, TracedPacket>();
        foreach (TracedPacket packet in trace.Packets)
        {
            arrivals[packet.Id] = packet;
        }

        return arrivals;
    }

    // A stage handles all its packets of a batch before the next stage runs, so the records of the packets of one
    // batch interleave; gather each packet's records (in the order packets first appear) to tell its story.
    private static List<(long PacketId, List<TraceRecord> Records)> ByPacket(IEnumerable<TraceRecord> all)
    {
        var byPacket = new Dictionary<long, List<TraceRecord>>();
        var order = new List<(long, List<TraceRecord>)>();
        foreach (TraceRecord record in all)
        {
            if (!byPacket.TryGetValue(record.PacketId, out List<TraceRecord>? records))
            {
                records = [];
                byPacket.Add(record.PacketId, records);
                order.Add((record.PacketId, records));
            }

            records.Add(record);
        }

        return order;
    }

    private static string PortName(ushort rxPort, PortTable ports)
        => rxPort == PortIds.None ? "(made here)" : rxPort < ports.Capacity && ports[rxPort] is { } port ? port.Name : rxPort.ToString(CultureInfo.InvariantCulture);

    private static string Header(long packetId, Dictionary<long, TracedPacket> arrivals, PortTable ports, Func<long, long>? toUnixNanoseconds)
    {
        if (!arrivals.TryGetValue(packetId, out TracedPacket packet))
        {
            return $"packet {packetId}";
        }

        double seconds = (toUnixNanoseconds is null ? packet.Timestamp : toUnixNanoseconds(packet.Timestamp)) / 1e9;
        return string.Create(CultureInfo.InvariantCulture, $"packet {packetId} from {PortName(packet.RxPort, ports)} at {seconds:F6}: {packet.Length} bytes");
    }

    public static string Line(Graph graph, in TraceRecord record)
    {
        Node node = graph.Nodes[record.Node];
        string verdict = record.Next switch
        {
            TraceRecord.Dropped => $"DROP {(record.Code < node.DropReasons.Count ? node.DropReasons[record.Code].Name : "?")}",
            TraceRecord.Transmitted => "(tx)",
            _ when record.Next == record.Node => "",
            _ => "-> " + graph.Nodes[record.Next].Name,
        };
        string detail = node.FormatTrace(in record);
        return $"  {node.Name,-17} {verdict,-24} {detail}".TrimEnd();
    }
}

/// <summary>One traced packet as data: where and when it arrived, and what each stage did.</summary>
/// <param name="TimestampNanoseconds">Arrival time, ns since the Unix epoch (null when the packet's entry was overwritten).</param>
public sealed record TracePacketInfo(long Id, string? RxPort, long? TimestampNanoseconds, int? Length, IReadOnlyList<TraceStageInfo> Stages);

/// <summary>
/// What one stage did: <paramref name="Verdict"/> is "next" (handed to <paramref name="Next"/>), "drop" (counted
/// under <paramref name="DropReason"/>), "tx" (queued for transmission) or "event" (noted, stays in the stage);
/// <paramref name="Detail"/> is the stage's own text (addresses, rewrites, lookups).
/// </summary>
public sealed record TraceStageInfo(string Stage, string Verdict, string? Next, string? DropReason, string Detail);
