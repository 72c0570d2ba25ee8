using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>Validates ARP packets (Ethernet/IPv4 only, request or reply) before anyone reads their fields.</summary>
public sealed class ArpInput : Node<ArpInput.Next, ArpInput.Drop, None>
{
    public enum Next
    {
        SourceGuard,
    }

    public enum Drop
    {
        [Description("ARP packet shorter than 28 bytes")]
        Truncated,
        [Description("ARP for a hardware or protocol other than Ethernet/IPv4")]
        UnsupportedFormat,
        [Description("ARP operation other than request or reply")]
        UnknownOperation,
    }

    public ArpInput()
    {
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            switch (ArpPacket.TryParse(batch.Frame(p).Slice(meta.L3Offset), out ArpPacket arp))
            {
                case ArpParse.Ok:
                    Forward<TTrace>(graph, p, Next.SourceGuard, arp.Operation, arp.SenderIp.Value, arp.TargetIp.Value);
                    break;
                case ArpParse.Truncated:
                    Drop<TTrace>(graph, p, Drop.Truncated);
                    break;
                case ArpParse.UnsupportedFormat:
                    Drop<TTrace>(graph, p, Drop.UnsupportedFormat);
                    break;
                default:
                    Drop<TTrace>(graph, p, Drop.UnknownOperation);
                    break;
            }
        }
    }

    public override string FormatTrace(in TraceRecord record) => record.Next == TraceRecord.Dropped
        ? ""
        : record.Code == ArpPacket.OperationRequest
            ? $"request who-has {new Ip4Address((uint)record.B)} tell {new Ip4Address((uint)record.A)}"
            : $"reply {new Ip4Address((uint)record.A)} is-at (sender) for {new Ip4Address((uint)record.B)}";
}
