using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// Anti-spoofing on pod ports: a pod may only send from its own MAC and its own IP (ARP sender included),
/// so no pod can impersonate another or the gateway. For IPv6 its own addresses are its configured one, the
/// link-local address Linux derives from its MAC (modified EUI-64, RFC 4291 appendix A) and the link-local it
/// really has when that differs (<c>addr_gen_mode</c> stable_privacy: <see cref="Port.LinkLocal"/>), plus the
/// unspecified address for duplicate address detection (RFC 4862 §5.4.2); a Neighbor Advertisement may only
/// advertise those, the IPv6 twin of the ARP sender check. The host port (the node's kernel) is held to the same
/// rules with the node's addresses as its own: the kernel may not send as a pod or as anyone else. The uplink is
/// not checked here: it is a router port.
/// The binding is the port itself (<see cref="PortTable"/>), so a pod added at run time is guarded from its first frame.
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
        [Description("IPv6 source is not the pod's own, its link-local, or unspecified")]
        SpoofedIp6,
        [Description("Neighbor Advertisement for an address that is not the pod's own")]
        SpoofedNeighborAdvertisement,
        [Description("received on a port that no longer exists (its pod was removed meanwhile)")]
        PortGone,
    }

    private readonly PortTable _ports;

    /// <summary>A Neighbor Advertisement's ICMPv6 body up to and including its target address (RFC 4861 §4.4).</summary>
    private const int NeighborAdvertisementTargetEnd = IcmpHeader.Size + Ip6Address.Size;

    public SourceGuard(PortTable ports)
    {
        _ports = ports;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Port? port = _ports[meta.RxPort];
            if (port is null)
            {
                // A removed pod's fd is detached before the workers go on, so this is a bug guard: never let an
                // unbound frame through unchecked.
                Drop<TTrace>(graph, p, Drop.PortGone);
                continue;
            }

            if (port.Kind != PortKind.Uplink && !Check(port, ref meta, batch.Frame(p), out Drop reason))
            {
                Drop<TTrace>(graph, p, reason);
                continue;
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
    private static bool Check(Port binding, ref PacketMeta meta, Span<byte> frame, out Drop reason)
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
            if (!(IsOwn(binding, source) || source.IsZero))
            {
                reason = Drop.SpoofedIp6;
                return false;
            }

            reason = Drop.SpoofedNeighborAdvertisement;
            Span<byte> icmp = frame.Slice(meta.L4Offset);
            return !((meta.Flags & PacketFlags.NeighborDiscovery) != 0 && icmp[IcmpHeader.TypeOffset] == Icmp6Type.NeighborAdvertisement
                && icmp.Length >= NeighborAdvertisementTargetEnd && !IsOwn(binding, Ip6Address.Read(icmp.Slice(IcmpHeader.Size))));
        }

        ArpParse parse = ArpPacket.TryParse(l3, out ArpPacket arp);
        reason = Drop.SpoofedArp;
        return parse == ArpParse.Ok && arp.SenderMac == binding.Mac && (arp.SenderIp == binding.Ip4 || arp.SenderIp.IsZero);
    }

    private static bool IsOwn(Port binding, Ip6Address address)
        => (binding.Ip6 is { } own && address == own) || address == binding.LinkLocal || address == binding.Eui64LinkLocal;
}
