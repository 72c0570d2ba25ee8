using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Conntrack;

public enum TupleKind : byte
{
    /// <summary>Not tracked: another protocol, an ICMP type that is neither echo nor error, a later fragment.</summary>
    Untracked,

    /// <summary>TCP, UDP, SCTP or ICMP echo: the key identifies a flow direction.</summary>
    Flow,

    /// <summary>An ICMP error: the key is that of the packet it quotes (related to some flow).</summary>
    IcmpError,
}

/// <summary>Reads conntrack's view of a packet (its 5-tuple) from the offsets the input stages recorded.</summary>
public static class PacketTuple
{
    private const ulong V4MappedHi = 0;
    private const ulong V4MappedLo = 0x0000_FFFF_0000_0000;

    /// <summary>The tuple of the packet itself (for an ICMP error, of nothing: see <see cref="ReadQuoted"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TupleKind Read(Span<byte> frame, in PacketMeta meta, out FlowKey key)
    {
        key = default;
        if (meta.L4Offset == 0)
        {
            return TupleKind.Untracked;
        }

        bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
        ReadAddresses(frame.Slice(meta.L3Offset), v4, ref key);
        return ReadPorts(frame.Slice(meta.L4Offset), meta.L4Protocol, v4, ref key);
    }

    /// <summary>
    /// The tuple of the datagram an ICMP error quotes (its IP header and at least 8 bytes of L4 header).
    /// <paramref name="innerL3"/> is the quoted header's offset in the frame. False when too little is quoted.
    /// </summary>
    public static bool ReadQuoted(Span<byte> frame, in PacketMeta meta, out FlowKey key, out int innerL3, out int innerL4)
    {
        key = default;
        bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
        innerL3 = meta.L4Offset + IcmpHeader.Size;
        innerL4 = 0;
        Span<byte> inner = frame.Slice(innerL3);
        byte protocol;
        if (v4)
        {
            if (inner.Length < Ipv4Header.MinSize || (inner[0] >> 4) != 4)
            {
                return false;
            }

            int headerLength = (inner[0] & 0x0F) * 4;
            if (headerLength < Ipv4Header.MinSize || inner.Length < headerLength + 8)
            {
                return false;
            }

            protocol = inner[9];
            innerL4 = innerL3 + headerLength;
        }
        else
        {
            if (inner.Length < Ipv6Header.Size + 8 || (inner[0] >> 4) != 6)
            {
                return false;
            }

            // Quoted extension headers are rare enough (and often cut off) that only a direct L4 header is followed.
            protocol = inner[6];
            innerL4 = innerL3 + Ipv6Header.Size;
        }

        ReadAddresses(inner, v4, ref key);
        return ReadPorts(frame.Slice(innerL4), protocol, v4, ref key) == TupleKind.Flow;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReadAddresses(Span<byte> l3, bool v4, ref FlowKey key)
    {
        if (v4)
        {
            key.SourceHi = V4MappedHi;
            key.SourceLo = V4MappedLo | BinaryPrimitives.ReadUInt32BigEndian(l3.Slice(12));
            key.DestinationHi = V4MappedHi;
            key.DestinationLo = V4MappedLo | BinaryPrimitives.ReadUInt32BigEndian(l3.Slice(16));
        }
        else
        {
            key.SourceHi = BinaryPrimitives.ReadUInt64BigEndian(l3.Slice(8));
            key.SourceLo = BinaryPrimitives.ReadUInt64BigEndian(l3.Slice(16));
            key.DestinationHi = BinaryPrimitives.ReadUInt64BigEndian(l3.Slice(24));
            key.DestinationLo = BinaryPrimitives.ReadUInt64BigEndian(l3.Slice(32));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TupleKind ReadPorts(Span<byte> l4, byte protocol, bool v4, ref FlowKey key)
    {
        key.Protocol = protocol;
        switch (protocol)
        {
            case IpProtocol.Tcp:
            case IpProtocol.Udp:
            case IpProtocol.Sctp:
                key.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(l4);
                key.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(l4.Slice(2));
                return TupleKind.Flow;
            case IpProtocol.Icmp when v4:
            case IpProtocol.Icmpv6 when !v4:
                byte type = l4[0];
                ushort id = BinaryPrimitives.ReadUInt16BigEndian(l4.Slice(4));
                if (type == (v4 ? Icmp4Type.EchoRequest : Icmp6Type.EchoRequest))
                {
                    key.SourcePort = id;
                    return TupleKind.Flow;
                }

                if (type == (v4 ? Icmp4Type.EchoReply : Icmp6Type.EchoReply))
                {
                    key.DestinationPort = id;
                    return TupleKind.Flow;
                }

                return (v4 ? Icmp4Type.IsError(type) : Icmp6Type.IsError(type)) ? TupleKind.IcmpError : TupleKind.Untracked;
            default:
                return TupleKind.Untracked;
        }
    }
}
