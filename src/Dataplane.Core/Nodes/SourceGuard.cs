using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// Anti-spoofing on pod ports: a pod may only send from its own MAC and its own IP (ARP sender included),
/// so no pod can impersonate another or the gateway. For IPv6 its own addresses are its configured one and
/// the link-local address Linux derives from its MAC (modified EUI-64, RFC 4291 appendix A), plus the
/// unspecified address for duplicate address detection (RFC 4862 §5.4.2); a Neighbor Advertisement may only
/// advertise those, the IPv6 twin of the ARP sender check. The uplink is not checked here: it is a router port.
/// </summary>
public sealed class SourceGuard : Node<SourceGuard.Next, SourceGuard.Drop, None>
{
    public enum Next
    {
        Arp,
        Ndp,
        Conntrack,
    }

    public enum Drop
    {
        [Description("source MAC is not the pod's own")]
        SpoofedMac,
        [Description("ARP sender MAC or IP is not the pod's own")]
        SpoofedArp,
        [Description("IPv4 source is not the pod's own address")]
        SpoofedIp4,
        [Description("IPv6 source is not the pod's own, its EUI-64 link-local, or unspecified")]
        SpoofedIp6,
        [Description("Neighbor Advertisement for an address that is not the pod's own")]
        SpoofedNeighborAdvertisement,
    }

    private readonly PortBinding[] _bindings;

    /// <summary>A Neighbor Advertisement's ICMPv6 body up to and including its target address (RFC 4861 §4.4).</summary>
    private const int NeighborAdvertisementTargetEnd = IcmpHeader.Size + Ip6Address.Size;

    public SourceGuard(IReadOnlyList<Port> ports)
    {
        _bindings = new PortBinding[ports.Count];
        foreach (Port port in ports)
        {
            _bindings[port.Id] = new PortBinding(port.Kind == PortKind.Pod, port.Mac, port.Ip4, port.Ip6 ?? default, port.Ip6 is not null, LinkLocal(port.Mac));
        }
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            ref readonly PortBinding binding = ref _bindings[meta.RxPort];
            if (binding.Checked)
            {
                Span<byte> frame = batch.Frame(p);
                if (!Check(in binding, ref meta, frame, out Drop reason))
                {
                    Drop<TTrace>(graph, p, reason);
                    continue;
                }
            }

            if ((meta.Flags & PacketFlags.Arp) != 0)
            {
                Forward<TTrace>(graph, p, Next.Arp);
            }
            else if ((meta.Flags & PacketFlags.NeighborDiscovery) != 0)
            {
                Forward<TTrace>(graph, p, Next.Ndp);
            }
            else
            {
                Forward<TTrace>(graph, p, Next.Conntrack);
            }
        }
    }

    /// <summary>Whether the packet may pass; if not, <paramref name="reason"/> says why.</summary>
    private static bool Check(in PortBinding binding, ref PacketMeta meta, Span<byte> frame, out Drop reason)
    {
        if (MacAddress.Read(frame.Slice(EthernetHeader.SourceOffset)) != binding.Mac)
        {
            reason = Drop.SpoofedMac;
            return false;
        }

        Span<byte> l3 = frame.Slice(meta.L3Offset);
        if ((meta.Flags & PacketFlags.Ip4) != 0)
        {
            reason = Drop.SpoofedIp4;
            return Ip4Address.Read(l3.Slice(Ipv4Header.SourceOffset)) == binding.Ip4;
        }

        if ((meta.Flags & PacketFlags.Ip6) != 0)
        {
            Ip6Address source = Ip6Address.Read(l3.Slice(Ipv6Header.SourceOffset));
            if (!(IsOwn(in binding, source) || source.IsZero))
            {
                reason = Drop.SpoofedIp6;
                return false;
            }

            reason = Drop.SpoofedNeighborAdvertisement;
            Span<byte> icmp = frame.Slice(meta.L4Offset);
            return !((meta.Flags & PacketFlags.NeighborDiscovery) != 0 && icmp[IcmpHeader.TypeOffset] == Icmp6Type.NeighborAdvertisement
                && icmp.Length >= NeighborAdvertisementTargetEnd && !IsOwn(in binding, Ip6Address.Read(icmp.Slice(IcmpHeader.Size))));
        }

        ArpParse parse = ArpPacket.TryParse(l3, out ArpPacket arp);
        reason = Drop.SpoofedArp;
        return parse == ArpParse.Ok && arp.SenderMac == binding.Mac && (arp.SenderIp == binding.Ip4 || arp.SenderIp.IsZero);
    }

    private static bool IsOwn(in PortBinding binding, Ip6Address address)
        => (binding.HasIp6 && address == binding.Ip6) || address == binding.LinkLocal;

    /// <summary>fe80::/64 with the MAC as a modified EUI-64 interface id: U/L bit flipped, ff:fe in the middle.</summary>
    private static Ip6Address LinkLocal(MacAddress mac)
    {
        ulong m = mac.Value;
        ulong interfaceId = ((((m >> 24) & 0xFFFFFF) ^ 0x020000) << 40) | (0xFFFEUL << 24) | (m & 0xFFFFFF);
        return new Ip6Address(0xFE80_0000_0000_0000, interfaceId);
    }

    private readonly record struct PortBinding(bool Checked, MacAddress Mac, Ip4Address Ip4, Ip6Address Ip6, bool HasIp6, Ip6Address LinkLocal);
}
