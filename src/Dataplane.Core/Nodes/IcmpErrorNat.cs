using System.ComponentModel;
using Dataplane.Conntrack;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// Maps back an ICMP error that icmp-error built about a packet conntrack had already NATed (too big for the
/// egress MTU, TTL expired, no route to the backend): the error quotes the translated packet and is addressed to
/// its translated source, so it is translated like any error about the flow, as Linux's
/// nf_nat_icmp_reply_translation does for errors the host itself sends. The client then sees the error about the
/// packet it sent (to the VIP), from the address it sent it to. An error whose flow has gone leaves as built.
/// </summary>
public sealed class IcmpErrorNat : Node<IcmpErrorNat.Next, None, IcmpErrorNat.Event>
{
    public enum Next
    {
        InterfaceOutput,
    }

    public enum Event
    {
        [Description("ICMP errors of ours translated for the NATed flow they quote")]
        ErrorsTranslated,
    }

    private const ushort TraceTranslated = 1;
    private const ushort TraceAsBuilt = 2;

    private readonly FlowTranslator _translator;

    public IcmpErrorNat(FlowTranslator translator) => _translator = translator;

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            if (_translator.TranslateIcmpError(batch.Frame(p), ref meta, out int entry) == IcmpErrorTranslation.Translated)
            {
                Count(Event.ErrorsTranslated);
                Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceTranslated, entry);
                continue;
            }

            Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceAsBuilt);
        }
    }

    public override string FormatTrace(in TraceRecord record) => record.Code switch
    {
        TraceTranslated => $"translated for flow {record.A}",
        TraceAsBuilt => "no NATed flow found: sent as built",
        _ => "",
    };
}
