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
    public static string Format(Graph graph, IReadOnlyList<Port> ports, Func<long, long>? toUnixNanoseconds = null)
    {
        // A stage handles all its packets of a batch before the next stage runs, so the records of the packets
        // of one batch interleave; gather each packet's records (in the order packets first appear) to tell its story.
        TraceSnapshot trace = graph.Tracer.Read();
        var arrivals = new Dictionary<long, TracedPacket>();
        foreach (TracedPacket packet in trace.Packets)
        {
            arrivals[packet.Id] = packet;
        }

        var byPacket = new Dictionary<long, List<TraceRecord>>();
        var order = new List<long>();
        foreach (TraceRecord record in trace.Records)
        {
            if (!byPacket.TryGetValue(record.PacketId, out List<TraceRecord>? records))
            {
                records = [];
                byPacket.Add(record.PacketId, records);
                order.Add(record.PacketId);
            }

            records.Add(record);
        }

        var text = new StringBuilder();
        foreach (long packetId in order)
        {
            text.AppendLine(Header(packetId, arrivals, ports, toUnixNanoseconds));
            foreach (TraceRecord record in byPacket[packetId])
            {
                text.AppendLine(Line(graph, in record));
            }
        }

        return text.ToString();
    }

    private static string Header(long packetId, Dictionary<long, TracedPacket> arrivals, IReadOnlyList<Port> ports, Func<long, long>? toUnixNanoseconds)
    {
        if (!arrivals.TryGetValue(packetId, out TracedPacket packet))
        {
            return $"packet {packetId}";
        }

        string port = packet.RxPort == PortIds.None ? "(made here)" : packet.RxPort < ports.Count ? ports[packet.RxPort].Name : packet.RxPort.ToString(CultureInfo.InvariantCulture);
        double seconds = (toUnixNanoseconds is null ? packet.Timestamp : toUnixNanoseconds(packet.Timestamp)) / 1e9;
        return string.Create(CultureInfo.InvariantCulture, $"packet {packetId} from {port} at {seconds:F6}: {packet.Length} bytes");
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
