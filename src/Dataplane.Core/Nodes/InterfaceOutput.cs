using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// Last stage: queues each packet for its <see cref="PacketMeta.TxPort"/>. The worker's I/O loop then writes
/// the batch's transmit list out (expanding floods to every pod port but the ingress one), so all writes of a
/// batch happen together after processing.
/// </summary>
public sealed class InterfaceOutput : Node<None, None, None>
{
    private readonly string[] _portNames;

    public InterfaceOutput(IReadOnlyList<Port> ports)
    {
        _portNames = new string[ports.Count];
        foreach (Port port in ports)
        {
            _portNames[port.Id] = port.Name;
        }
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            Transmit<TTrace>(graph, p, 0, batch.Meta(p).TxPort);
        }
    }

    public override string FormatTrace(in TraceRecord record) => record.A == PortIds.Flood
        ? "tx flood (all pod ports but the ingress)"
        : $"tx {(record.A < _portNames.Length ? _portNames[record.A] : record.A.ToString(System.Globalization.CultureInfo.InvariantCulture))}";
}
