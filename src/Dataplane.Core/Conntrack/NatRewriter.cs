using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Conntrack;

/// <summary>
/// Rewrites a packet's addresses and ports from one tuple to another, keeping every checksum valid: the IPv4
/// header checksum and the TCP/UDP/ICMPv6 checksum (through its pseudo-header) are patched incrementally
/// (RFC 1624); a zero UDP-over-IPv4 checksum stays zero; SCTP's CRC32c, which covers ports but no pseudo-header,
/// is recomputed only when a port changes. ICMP errors that quote a flow get their quoted header rewritten too.
/// </summary>
public static class NatRewriter
{
    /// <summary>Rewrites the packet (whose tuple is <paramref name="from"/>) to carry <paramref name="to"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Rewrite(Span<byte> frame, ref PacketMeta meta, in FlowKey from, in FlowKey to)
    {
        bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
        Span<byte> l3 = frame.Slice(meta.L3Offset);
        var addresses = default(ChecksumDelta);
        if (v4)
        {
            addresses.Add32((uint)from.SourceLo, (uint)to.SourceLo);
            addresses.Add32((uint)from.DestinationLo, (uint)to.DestinationLo);
            BinaryPrimitives.WriteUInt32BigEndian(l3.Slice(12), (uint)to.SourceLo);
            BinaryPrimitives.WriteUInt32BigEndian(l3.Slice(16), (uint)to.DestinationLo);
            BinaryPrimitives.WriteUInt16BigEndian(l3.Slice(10), addresses.Apply(BinaryPrimitives.ReadUInt16BigEndian(l3.Slice(10))));
        }
        else
        {
            addresses.Add64(from.SourceHi, to.SourceHi);
            addresses.Add64(from.SourceLo, to.SourceLo);
            addresses.Add64(from.DestinationHi, to.DestinationHi);
            addresses.Add64(from.DestinationLo, to.DestinationLo);
            new Ip6Address(to.SourceHi, to.SourceLo).Write(l3.Slice(8));
            new Ip6Address(to.DestinationHi, to.DestinationLo).Write(l3.Slice(24));
        }

        meta.Flags |= PacketFlags.Natted;
        if (meta.L4Offset == 0)
        {
            return;
        }

        Span<byte> l4 = frame.Slice(meta.L4Offset);
        bool partial = (meta.Flags & PacketFlags.ChecksumPartial) != 0;
        switch (meta.L4Protocol)
        {
            case IpProtocol.Tcp:
                RewritePorts(l4, in from, in to, in addresses, TcpHeader.ChecksumOffset, partial, udp: false);
                break;
            case IpProtocol.Udp:
                RewritePorts(l4, in from, in to, in addresses, UdpHeader.ChecksumOffset, partial, udp: v4);
                break;
            case IpProtocol.Sctp:
                if (from.SourcePort != to.SourcePort || from.DestinationPort != to.DestinationPort)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(l4, to.SourcePort);
                    BinaryPrimitives.WriteUInt16BigEndian(l4.Slice(2), to.DestinationPort);
                    SctpChecksum.Update(l4);
                }

                break;
            case IpProtocol.Icmp:
                if (from.SourcePort != to.SourcePort || from.DestinationPort != to.DestinationPort)
                {
                    RewriteEchoIdentifier(l4, in from, in to, default, partial);
                }

                break;
            case IpProtocol.Icmpv6:
                // ICMPv6's checksum covers the pseudo-header (RFC 4443 §2.3); ICMPv4's does not.
                RewriteEchoIdentifier(l4, in from, in to, in addresses, partial);
                break;
        }
    }

    /// <summary>
    /// An echo's identifier stands in for its port (a request's tuple is (id, 0), a reply's (0, id)): a flow source-NATed
    /// to the node gets a fresh one, so two pods pinging one host with the same id stay apart.
    /// </summary>
    private static void RewriteEchoIdentifier(Span<byte> l4, in FlowKey from, in FlowKey to, in ChecksumDelta addresses, bool partial)
    {
        var delta = addresses;
        if (l4.Length >= IcmpHeader.Size && (from.SourcePort != to.SourcePort || from.DestinationPort != to.DestinationPort))
        {
            bool request = from.SourcePort != 0;
            ushort before = request ? from.SourcePort : from.DestinationPort;
            ushort after = request ? to.SourcePort : to.DestinationPort;
            delta.Add16(before, after);
            BinaryPrimitives.WriteUInt16BigEndian(l4.Slice(4), after);
        }

        Patch(l4.Slice(2), in delta, partial, udp: false);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RewritePorts(Span<byte> l4, in FlowKey from, in FlowKey to, in ChecksumDelta addresses, int checksumOffset, bool partial, bool udp)
    {
        var delta = addresses;
        if (!partial)
        {
            // With CHECKSUM_PARTIAL the field holds only the pseudo-header sum, which ports are not part of.
            delta.Add16(from.SourcePort, to.SourcePort);
            delta.Add16(from.DestinationPort, to.DestinationPort);
        }

        BinaryPrimitives.WriteUInt16BigEndian(l4, to.SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(l4.Slice(2), to.DestinationPort);
        Patch(l4.Slice(checksumOffset), in delta, partial, udp);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Patch(Span<byte> field, in ChecksumDelta delta, bool partial, bool udp)
    {
        ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(field);
        ushort updated = partial
            ? (ushort)~delta.Apply((ushort)~checksum)
            : udp ? delta.ApplyUdp(checksum) : delta.Apply(checksum);
        BinaryPrimitives.WriteUInt16BigEndian(field, updated);
    }

    /// <summary>
    /// Rewrites an ICMP error whose outer tuple is translated by the flow it relates to: the outer addresses
    /// become <paramref name="outerSource"/>/<paramref name="outerDestination"/>, and the quoted datagram's
    /// tuple becomes <paramref name="quoted"/>, so the receiver matches the error to its own socket
    /// (path-MTU discovery through a VIP depends on it). Errors are rare: checksums are recomputed in full.
    /// </summary>
    public static void RewriteIcmpError(Span<byte> frame, ref PacketMeta meta, IpAddress outerSource, IpAddress outerDestination,
        in FlowKey quoted, int innerL3, int innerL4)
    {
        bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
        Span<byte> l3 = frame.Slice(meta.L3Offset);
        Span<byte> inner = frame.Slice(innerL3);
        Span<byte> innerL4Span = frame.Slice(innerL4);
        FlowKey before = default;
        PacketTuple.ReadQuoted(frame, in meta, out before, out _, out _);

        var innerDelta = default(ChecksumDelta);
        if (v4)
        {
            outerSource.V4.Write(l3.Slice(12));
            outerDestination.V4.Write(l3.Slice(16));
            innerDelta.Add32((uint)before.SourceLo, (uint)quoted.SourceLo);
            innerDelta.Add32((uint)before.DestinationLo, (uint)quoted.DestinationLo);
            BinaryPrimitives.WriteUInt32BigEndian(inner.Slice(12), (uint)quoted.SourceLo);
            BinaryPrimitives.WriteUInt32BigEndian(inner.Slice(16), (uint)quoted.DestinationLo);
            BinaryPrimitives.WriteUInt16BigEndian(inner.Slice(10), innerDelta.Apply(BinaryPrimitives.ReadUInt16BigEndian(inner.Slice(10))));
        }
        else
        {
            outerSource.V6.Write(l3.Slice(8));
            outerDestination.V6.Write(l3.Slice(24));
            innerDelta.Add64(before.SourceHi, quoted.SourceHi);
            innerDelta.Add64(before.SourceLo, quoted.SourceLo);
            innerDelta.Add64(before.DestinationHi, quoted.DestinationHi);
            innerDelta.Add64(before.DestinationLo, quoted.DestinationLo);
            new Ip6Address(quoted.SourceHi, quoted.SourceLo).Write(inner.Slice(8));
            new Ip6Address(quoted.DestinationHi, quoted.DestinationLo).Write(inner.Slice(24));
        }

        if (quoted.Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp)
        {
            innerDelta.Add16(before.SourcePort, quoted.SourcePort);
            innerDelta.Add16(before.DestinationPort, quoted.DestinationPort);
            BinaryPrimitives.WriteUInt16BigEndian(innerL4Span, quoted.SourcePort);
            BinaryPrimitives.WriteUInt16BigEndian(innerL4Span.Slice(2), quoted.DestinationPort);

            // The quoted L4 checksum is updated only when it was quoted (always for UDP's 8 bytes; TCP's sits at 16).
            int checksumOffset = quoted.Protocol == IpProtocol.Tcp ? TcpHeader.ChecksumOffset : UdpHeader.ChecksumOffset;
            if (quoted.Protocol != IpProtocol.Sctp && innerL4Span.Length >= checksumOffset + 2)
            {
                Patch(innerL4Span.Slice(checksumOffset), in innerDelta, partial: false, udp: quoted.Protocol == IpProtocol.Udp && v4);
            }
        }

        Span<byte> icmp = frame.Slice(meta.L4Offset);
        BinaryPrimitives.WriteUInt16BigEndian(icmp.Slice(2), 0);
        ulong pseudo = v4 ? 0 : InternetChecksum.PseudoHeaderSum(outerSource.V6, outerDestination.V6, IpProtocol.Icmpv6, icmp.Length);
        BinaryPrimitives.WriteUInt16BigEndian(icmp.Slice(2), InternetChecksum.Finish(InternetChecksum.Sum(icmp, pseudo)));
        if (v4)
        {
            Ipv4Header.TryParse(l3, out Ipv4Header ip);
            ip.UpdateChecksum();
        }

        meta.Flags |= PacketFlags.Natted;
    }
}
