using System.Buffers.Binary;
using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// Sends the ICMP/ICMPv6 error an earlier stage asked for (<see cref="PacketMeta.IcmpType"/>), back out the
/// port the offending packet came in on, from our address on that side. Built in place: the invoking
/// datagram is moved back to make room for the new headers and cut to what the RFCs ask for (576 bytes in
/// all for IPv4, RFC 1812 §4.3.2.3; 1280 for IPv6, RFC 4443 §2.4(c)). Rate-limited by a token bucket on the
/// pipeline clock that every worker shares (the limit is per node, like Linux's icmp_ratelimit); never answers
/// an error, a later fragment, or a multicast. An error about a packet conntrack had NATed quotes the translated
/// packet, so it goes through icmp-error-nat to be mapped back.
/// </summary>
public sealed class IcmpError : Node<IcmpError.Next, IcmpError.Drop, IcmpError.Event>
{
    public enum Next
    {
        InterfaceOutput,
        IcmpErrorNat,
    }

    public enum Drop
    {
        [Description("ICMP error suppressed by the rate limit")]
        RateLimited,
        [Description("no error is sent for ICMP errors, later fragments, or multicast/broadcast/unspecified packets (RFC 1812 §4.3.2.7, RFC 4443 §2.4(e))")]
        NotAnswerable,
        [Description("no IPv6 address of ours on that port to send an ICMPv6 error from")]
        NoSourceAddress,
    }

    public enum Event
    {
        [Description("ICMP errors sent")]
        ErrorsSent,
    }

    private const int Ip4ErrorMax = 576;
    private const int Ip6ErrorMax = 1280;
    private const byte ErrorTtl = 64;

    private readonly LocalAddress[] _local;
    private readonly TokenBucket _limit;

    /// <param name="limit">The node's ICMP error budget, shared by every worker's icmp-error.</param>
    public IcmpError(PortTable ports, LocalAddresses local, TokenBucket limit)
    {
        _local = local.PerPort(ports);
        _limit = limit;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
            if (!IsAnswerable(batch.Frame(p), ref meta, v4))
            {
                Drop<TTrace>(graph, p, Drop.NotAnswerable, meta.IcmpType, meta.IcmpCode);
                continue;
            }

            ref readonly LocalAddress local = ref _local[meta.RxPort];
            if (!v4 && !local.HasIp6)
            {
                Drop<TTrace>(graph, p, Drop.NoSourceAddress);
                continue;
            }

            if (!_limit.TryTake(meta.Timestamp))
            {
                Drop<TTrace>(graph, p, Drop.RateLimited, meta.IcmpType, meta.IcmpCode);
                continue;
            }

            bool natted = (meta.Flags & PacketFlags.Natted) != 0;
            Span<byte> slot = batch.Slot(p).Slice(meta.Offset);
            if (v4)
            {
                Build4(slot, ref meta, in local);
            }
            else
            {
                Build6(slot, ref meta, in local);
            }

            meta.TxPort = meta.RxPort;
            Count(Event.ErrorsSent);
            Forward<TTrace>(graph, p, natted ? Next.IcmpErrorNat : Next.InterfaceOutput, 0, meta.IcmpType, meta.IcmpCode);
        }
    }

    private static bool IsAnswerable(Span<byte> frame, ref PacketMeta meta, bool v4)
    {
        if ((meta.Flags & (PacketFlags.LaterFragment | PacketFlags.L2Multicast)) != 0)
        {
            return false;
        }

        Span<byte> l3 = frame.Slice(meta.L3Offset);
        if (v4)
        {
            Ip4Address source = Ip4Address.Read(l3.Slice(Ipv4Header.SourceOffset));
            Ip4Address destination = Ip4Address.Read(l3.Slice(Ipv4Header.DestinationOffset));
            if (source.IsZero || source.IsMulticast || destination.IsMulticast || destination.IsLimitedBroadcast)
            {
                return false;
            }

            return meta.L4Protocol != IpProtocol.Icmp || meta.L4Offset == 0 || !Icmp4Type.IsError(frame[meta.L4Offset + IcmpHeader.TypeOffset]);
        }

        Ip6Address source6 = Ip6Address.Read(l3.Slice(Ipv6Header.SourceOffset));
        if (source6.IsZero || source6.IsMulticast || Ip6Address.Read(l3.Slice(Ipv6Header.DestinationOffset)).IsMulticast)
        {
            return false;
        }

        return meta.L4Protocol != IpProtocol.Icmpv6 || meta.L4Offset == 0 || !Icmp6Type.IsError(frame[meta.L4Offset + IcmpHeader.TypeOffset]);
    }

    /// <summary>eth | IPv4 (20) | ICMP (8) | as much of the invoking datagram as fits in 576 bytes.</summary>
    private static void Build4(Span<byte> room, ref PacketMeta meta, in LocalAddress local)
    {
        const int Headers = Ipv4Header.MinSize + IcmpHeader.Size;
        int l3 = meta.L3Offset;
        int quoted = Math.Min(meta.Length - l3, Ip4ErrorMax - Headers);
        Ip4Address offender = Ip4Address.Read(room.Slice(l3 + Ipv4Header.SourceOffset));
        MacAddress offenderMac = MacAddress.Read(room.Slice(EthernetHeader.SourceOffset));
        room.Slice(l3, quoted).CopyTo(room.Slice(EthernetHeader.Size + Headers));

        EthernetHeader.Write(room, offenderMac, local.Mac, EtherType.Ipv4);
        Span<byte> ip = room.Slice(EthernetHeader.Size);
        Ipv4Header.Write(ip, Headers + quoted, IpProtocol.Icmp, ErrorTtl, local.Ip4, offender);
        Span<byte> icmp = ip.Slice(Ipv4Header.MinSize, IcmpHeader.Size + quoted);
        uint rest = meta.IcmpCode == Icmp4Type.CodeFragmentationNeeded && meta.IcmpType == Icmp4Type.DestinationUnreachable ? meta.IcmpMtu : 0u;
        IcmpHeader.Write(icmp, meta.IcmpType, meta.IcmpCode, rest);
        BinaryPrimitives.WriteUInt16BigEndian(icmp.Slice(IcmpHeader.ChecksumOffset), InternetChecksum.Compute(icmp));

        meta.L3Offset = EthernetHeader.Size;
        meta.L4Offset = EthernetHeader.Size + Ipv4Header.MinSize;
        meta.L4Protocol = IpProtocol.Icmp;
        meta.Length = EthernetHeader.Size + Headers + quoted;
        meta.Flags = (meta.Flags & PacketFlags.Traced) | PacketFlags.Ip4;
    }

    /// <summary>eth | IPv6 (40) | ICMPv6 (8) | as much of the invoking packet as fits in 1280 bytes.</summary>
    private static void Build6(Span<byte> room, ref PacketMeta meta, in LocalAddress local)
    {
        const int Headers = Ipv6Header.Size + IcmpHeader.Size;
        int l3 = meta.L3Offset;
        int quoted = Math.Min(meta.Length - l3, Ip6ErrorMax - Headers);
        Ip6Address offender = Ip6Address.Read(room.Slice(l3 + Ipv6Header.SourceOffset));
        MacAddress offenderMac = MacAddress.Read(room.Slice(EthernetHeader.SourceOffset));
        room.Slice(l3, quoted).CopyTo(room.Slice(EthernetHeader.Size + Headers));

        EthernetHeader.Write(room, offenderMac, local.Mac, EtherType.Ipv6);
        Span<byte> ip = room.Slice(EthernetHeader.Size);
        int icmpLength = IcmpHeader.Size + quoted;
        Ipv6Header.Write(ip, icmpLength, IpProtocol.Icmpv6, ErrorTtl, local.Ip6, offender);
        Span<byte> icmp = ip.Slice(Ipv6Header.Size, icmpLength);
        uint rest = meta.IcmpType == Icmp6Type.PacketTooBig ? meta.IcmpMtu : 0u;
        IcmpHeader.Write(icmp, meta.IcmpType, meta.IcmpCode, rest);
        ulong pseudo = InternetChecksum.PseudoHeaderSum(local.Ip6, offender, IpProtocol.Icmpv6, icmpLength);
        BinaryPrimitives.WriteUInt16BigEndian(icmp.Slice(IcmpHeader.ChecksumOffset), InternetChecksum.Finish(InternetChecksum.Sum(icmp, pseudo)));

        meta.L3Offset = EthernetHeader.Size;
        meta.L4Offset = EthernetHeader.Size + Ipv6Header.Size;
        meta.L4Protocol = IpProtocol.Icmpv6;
        meta.Length = EthernetHeader.Size + Headers + icmpLength - IcmpHeader.Size;
        meta.Flags = (meta.Flags & PacketFlags.Traced) | PacketFlags.Ip6;
    }

    public override string FormatTrace(in TraceRecord record) => record.Next == TraceRecord.Dropped
        ? $"type {record.A} code {record.B}"
        : $"sent type {record.A} code {record.B}";
}
