using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// Last stage: queues each packet for its <see cref="PacketMeta.TxPort"/>. The worker's I/O loop then writes
/// the batch's transmit list out (expanding floods to every pod port but the ingress one), so all writes of a
/// batch happen together after processing.
/// </summary>
public sealed class InterfaceOutput : Node<None, None, None>
{
    private readonly PortTable _ports;

    public InterfaceOutput(PortTable ports)
    {
        _ports = ports;
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
        : $"tx {(record.A < _ports.Capacity && _ports[(int)record.A] is { } port ? port.Name : record.A.ToString(System.Globalization.CultureInfo.InvariantCulture))}";
}
