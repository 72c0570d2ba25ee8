using System.Buffers.Binary;
using System.ComponentModel;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// VXLAN decapsulation (RFC 7348): a UDP datagram on the uplink to our uplink IP and node.vxlan.port (ethernet-input
/// picks those out, <see cref="IsVxlan"/>) has its outer IPv4 and UDP headers checked, then its VXLAN header (the I
/// flag, our VNI), then the inner Ethernet header (to our VTEP MAC or broadcast, as a vxlan device accepts); the
/// outer headers are stripped in place (the frame's offset moves past them) and the inner frame goes on to ip4-input
/// or ip6-input as a frame received on the uplink: conntrack and routing to the pod as for host-gw traffic. Inner ARP
/// is dropped and counted: flannel programs static neighbors, nobody asks. A partial checksum the uplink's packet
/// socket reports (a veth peer) is finished here, since the frame loses the header it came with.
/// </summary>
public sealed class VxlanInput : Node<VxlanInput.Next, VxlanInput.Drop, VxlanInput.Event>
{
    public enum Next
    {
        Ip4Input,
        Ip6Input,
    }

    public enum Drop
    {
        [Description("outer IPv4 or UDP header truncated or lying about its length, or a bad outer IPv4 header checksum")]
        OuterMalformed,
        [Description("VXLAN header missing or without the I flag (no valid VNI)")]
        NoVni,
        [Description("VNI is not node.vxlan.vni")]
        WrongVni,
        [Description("inner frame shorter than an Ethernet header")]
        TruncatedInner,
        [Description("inner destination MAC is neither node.vxlan.mac nor broadcast")]
        NotForOurVtep,
        [Description("inner ARP: VTEP neighbors are static (as flannel programs them), nothing to answer")]
        InnerArp,
        [Description("inner EtherType other than IPv4 or IPv6 (or a VLAN tag)")]
        InnerUnknownEtherType,
        [Description("arrived as a GSO super-frame or with a partial checksum outside the frame")]
        UnsupportedOffload,
    }

    public enum Event
    {
        [Description("VXLAN packets decapsulated")]
        Decapsulated,
    }

    private const ushort TraceDecap = 1;

    private readonly int _vni;
    private readonly MacAddress _vtepMac;

    public VxlanInput(VxlanConfig? vxlan)
    {
        _vni = vxlan?.Vni ?? VxlanConfig.DefaultVni;
        _vtepMac = vxlan?.Mac ?? MacAddress.Zero;
    }

    /// <summary>
    /// Whether an IPv4 frame received on the uplink is VXLAN for us: UDP, not a fragment, to <paramref name="uplinkIp"/>
    /// and <paramref name="port"/>. Reads four fields at fixed places; vxlan-input validates the rest.
    /// </summary>
    public static bool IsVxlan(ReadOnlySpan<byte> frame, int l3Offset, Ip4Address uplinkIp, ushort port)
    {
        if (frame.Length < l3Offset + Ipv4Header.MinSize + UdpHeader.Size)
        {
            return false;
        }

        ReadOnlySpan<byte> ip = frame.Slice(l3Offset);
        int headerLength = (ip[0] & 0x0F) * 4;
        return ip[9] == IpProtocol.Udp
            && (BinaryPrimitives.ReadUInt16BigEndian(ip.Slice(6)) & 0x3FFF) == 0
            && BinaryPrimitives.ReadUInt32BigEndian(ip.Slice(Ipv4Header.DestinationOffset)) == uplinkIp.Value
            && headerLength >= Ipv4Header.MinSize
            && ip.Length >= headerLength + UdpHeader.Size
            && BinaryPrimitives.ReadUInt16BigEndian(ip.Slice(headerLength + UdpHeader.DestinationPortOffset)) == port;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Span<byte> frame = batch.Frame(p);
            if (Ipv4Header.TryParse(frame.Slice(meta.L3Offset), out Ipv4Header ip) != Ipv4Parse.Ok || !ip.IsChecksumValid
                || !UdpHeader.TryParse(ip.Payload, out UdpHeader udp))
            {
                Drop<TTrace>(graph, p, Drop.OuterMalformed);
                continue;
            }

            if (!VxlanHeader.TryParse(udp.Datagram.Slice(0, udp.Length).Slice(UdpHeader.Size), out VxlanHeader vxlan) || !vxlan.HasVni)
            {
                Drop<TTrace>(graph, p, Drop.NoVni);
                continue;
            }

            if (vxlan.Vni != _vni)
            {
                Drop<TTrace>(graph, p, Drop.WrongVni, vxlan.Vni, _vni);
                continue;
            }

            Span<byte> inner = vxlan.Payload;
            if (inner.Length < EthernetHeader.Size)
            {
                Drop<TTrace>(graph, p, Drop.TruncatedInner, inner.Length);
                continue;
            }

            MacAddress destination = MacAddress.Read(inner);
            if (destination != _vtepMac && !destination.IsBroadcast)
            {
                Drop<TTrace>(graph, p, Drop.NotForOurVtep, (long)destination.Value);
                continue;
            }

            ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(inner.Slice(12));
            if (etherType == EtherType.Arp)
            {
                Drop<TTrace>(graph, p, Drop.InnerArp);
                continue;
            }

            if (etherType is not (EtherType.Ipv4 or EtherType.Ipv6))
            {
                Drop<TTrace>(graph, p, Drop.InnerUnknownEtherType, etherType);
                continue;
            }

            if ((meta.Flags & PacketFlags.Offloaded) != 0 && !FinishOffload(batch, p, frame))
            {
                Drop<TTrace>(graph, p, Drop.UnsupportedOffload);
                continue;
            }

            int innerOffset = meta.L3Offset + ip.HeaderLength + UdpHeader.Size + VxlanHeader.Size;
            meta.Offset += innerOffset;
            meta.Length = inner.Length;
            meta.L3Offset = EthernetHeader.Size;
            meta.L4Offset = 0;
            meta.L4Protocol = 0;
            bool v4 = etherType == EtherType.Ipv4;
            meta.Flags = (meta.Flags & PacketFlags.Traced) | PacketFlags.Decapsulated | (v4 ? PacketFlags.Ip4 : PacketFlags.Ip6)
                | (destination.IsBroadcast ? PacketFlags.L2Multicast : PacketFlags.None);
            Count(Event.Decapsulated);
            Forward<TTrace>(graph, p, v4 ? Next.Ip4Input : Next.Ip6Input, TraceDecap, vxlan.Vni, (long)MacAddress.Read(inner.Slice(EthernetHeader.SourceOffset)).Value);
        }
    }

    /// <summary>
    /// A frame the uplink's socket reported with a partial checksum: finish it (the inner frame leaves without the
    /// header it came with). A GSO frame cannot be VXLAN here (the kernel drops UDP-tunnel GSO on a packet socket).
    /// </summary>
    private static bool FinishOffload(PacketBatch batch, ushort p, Span<byte> frame)
    {
        ReadOnlySpan<byte> header = OffloadHeader.Of(batch, p);
        if (OffloadHeader.GsoType(header) != OffloadHeader.GsoNone)
        {
            return false;
        }

        return !OffloadHeader.NeedsChecksum(header) || OffloadHeader.TryCompleteChecksum(header, frame);
    }

    public override string FormatTrace(in TraceRecord record) => record.Code == TraceDecap
        ? $"vni {record.A} from vtep mac {new MacAddress((ulong)record.B)}: inner frame continues"
        : "";
}
