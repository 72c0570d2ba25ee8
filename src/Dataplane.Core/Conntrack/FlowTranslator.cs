using System.Runtime.CompilerServices;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Conntrack;

/// <summary>What <see cref="FlowTranslator.TranslateIcmpError"/> did with an ICMP error.</summary>
public enum IcmpErrorTranslation
{
    /// <summary>The quoted packet is of no tracked flow (or unreadable): left as it is.</summary>
    Untracked,

    /// <summary>The quoted packet's flow is tracked but not translated: nothing to rewrite.</summary>
    NotNatted,

    /// <summary>Outer and quoted headers were rewritten for the flow.</summary>
    Translated,
}

/// <summary>
/// What a tracked flow's packets become: the tuple a packet leaves with, and the translation of an ICMP error
/// that quotes one of the flow's packets (Linux's nf_nat_icmp_reply_translation). Shared by the conntrack stage
/// (packets of flows, and errors other hosts send about them) and icmp-error-nat (errors the dataplane itself
/// builds about packets conntrack had already NATed), so both translate alike. Holds no state of its own.
/// </summary>
public sealed class FlowTranslator(ConntrackTable table, LocalAddresses local)
{
    /// <summary>Whether the node has an IPv6 gateway address to source-NAT hairpinned IPv6 flows to.</summary>
    public bool HasGateway6 { get; } = local.GatewayIp6 is not null;

    /// <summary>
    /// The tuple a packet of this flow leaves with. Original direction: source possibly to the gateway (hairpin) or
    /// the node (masquerade, external traffic) and a new port (clash, SNAT), destination to the backend. Reply direction: the reverse of the original tuple.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FlowKey Translated(in FlowEntry e, in FlowKey key, bool reply)
    {
        if (reply)
        {
            return e.Original.Reverse();
        }

        FlowKey to = key;
        to.DestinationHi = e.NatHi;
        to.DestinationLo = e.NatLo;
        to.DestinationPort = e.NatPort;
        if ((e.Flags & (FlowFlags.SnatAddress | FlowFlags.SnatNode)) != 0)
        {
            IpAddress source = table.SnatSource(e.Flags, v4: key.SourceHi == 0 && (key.SourceLo >> 32) == 0xFFFF);
            to.SourceHi = source.Bits.Hi;
            to.SourceLo = source.Bits.Lo;
        }

        if ((e.Flags & FlowFlags.SnatPort) != 0)
        {
            to.SourcePort = e.SnatPort;
        }

        return to;
    }

    /// <summary>
    /// Rewrites an ICMP error for the flow it quotes. The entry is found by the quoted packet's reverse tuple K (the
    /// direction the error travels); the outer header gets K's translation, and the quoted header becomes the
    /// reverse of K's translated tuple, i.e. the packet as its sender sent it. <paramref name="entry"/> is the
    /// flow's entry unless the error is <see cref="IcmpErrorTranslation.Untracked"/>.
    /// </summary>
    public IcmpErrorTranslation TranslateIcmpError(Span<byte> frame, ref PacketMeta meta, out int entry)
    {
        entry = -1;
        if (!PacketTuple.ReadQuoted(frame, in meta, out FlowKey quoted, out int innerL3, out int innerL4))
        {
            return IcmpErrorTranslation.Untracked;
        }

        FlowKey key = quoted.Reverse();
        if (!table.TryLookup(in key, meta.Timestamp, out entry, out bool reply))
        {
            return IcmpErrorTranslation.Untracked;
        }

        ref FlowEntry e = ref table.Entry(entry);
        FlowKey to = Translated(in e, in key, reply);
        if (to == key)
        {
            return IcmpErrorTranslation.NotNatted;
        }

        bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
        Span<byte> l3 = frame.Slice(meta.L3Offset);
        IpAddress outerSource = v4 ? Ip4Address.Read(l3.Slice(Ipv4Header.SourceOffset)) : Ip6Address.Read(l3.Slice(Ipv6Header.SourceOffset));
        IpAddress outerDestination = v4 ? Ip4Address.Read(l3.Slice(Ipv4Header.DestinationOffset)) : Ip6Address.Read(l3.Slice(Ipv6Header.DestinationOffset));
        if (outerSource == key.Source)
        {
            outerSource = to.Source;
        }

        if (outerDestination == key.Destination)
        {
            outerDestination = to.Destination;
        }

        NatRewriter.RewriteIcmpError(frame, ref meta, outerSource, outerDestination, to.Reverse(), innerL3, innerL4);
        return IcmpErrorTranslation.Translated;
    }
}
