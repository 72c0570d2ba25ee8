using System.Buffers.Binary;

namespace Dataplane.Packets;

/// <summary>
/// The two frames that ask "who has this next hop?": an ARP request (RFC 826) and an IPv6 Neighbor
/// Solicitation to the solicited-node group (RFC 4861 §7.2.2). Used by the routing stages for unresolved
/// next hops and by neighbor-probe to resolve configured next hops before the first packet needs them.
/// </summary>
public static class NeighborSolicitations
{
    public const int ArpRequestLength = EthernetHeader.Size + ArpPacket.Size;
    public const int NeighborSolicitationLength = EthernetHeader.Size + Ipv6Header.Size + SolicitationLength;
    /// <summary>Offset of the target address in the solicitation's ICMPv6 body (RFC 4861 §4.3).</summary>
    public const int TargetOffset = IcmpHeader.Size;
    private const int SolicitationLength = 32;

    /// <summary>Writes a broadcast ARP request for <paramref name="target"/>; returns its length.</summary>
    public static int WriteArpRequest(Span<byte> frame, MacAddress senderMac, Ip4Address senderIp, Ip4Address target)
    {
        EthernetHeader.Write(frame, MacAddress.Broadcast, senderMac, EtherType.Arp);
        ArpPacket.Write(frame.Slice(EthernetHeader.Size), ArpPacket.OperationRequest, senderMac, senderIp, MacAddress.Zero, target);
        return ArpRequestLength;
    }

    /// <summary>Writes a Neighbor Solicitation for <paramref name="target"/> with our link-layer address option; returns its length.</summary>
    public static int WriteNeighborSolicitation(Span<byte> frame, MacAddress senderMac, Ip6Address senderIp, Ip6Address target)
    {
        Ip6Address group = target.SolicitedNodeMulticast;
        EthernetHeader.Write(frame, new MacAddress(0x3333_0000_0000UL | (uint)group.Lo), senderMac, EtherType.Ipv6);
        Span<byte> ip = frame.Slice(EthernetHeader.Size);
        Ipv6Header.Write(ip, SolicitationLength, IpProtocol.Icmpv6, 255, senderIp, group);
        Span<byte> icmp = ip.Slice(Ipv6Header.Size, SolicitationLength);
        IcmpHeader.Write(icmp, Icmp6Type.NeighborSolicitation, 0, 0);
        target.Write(icmp.Slice(TargetOffset));
        icmp[24] = 1; // source link-layer address option, 1 x 8 octets
        icmp[25] = 1;
        senderMac.Write(icmp.Slice(26));
        ulong pseudo = InternetChecksum.PseudoHeaderSum(senderIp, group, IpProtocol.Icmpv6, SolicitationLength);
        BinaryPrimitives.WriteUInt16BigEndian(icmp.Slice(2), InternetChecksum.Finish(InternetChecksum.Sum(icmp, pseudo)));
        return NeighborSolicitationLength;
    }
}
