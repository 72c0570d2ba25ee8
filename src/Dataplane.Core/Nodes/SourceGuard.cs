using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// Anti-spoofing on pod ports: a pod may only send from its own MAC and its own IP (ARP sender included),
/// so no pod can impersonate another or the gateway. IPv6 also allows link-local and, for duplicate address
/// detection, the unspecified source (RFC 4862 §5.4.2). The uplink is not checked here: it is a router port.
/// </summary>
public sealed class SourceGuard : Node
{
    public enum Next
    {
        Arp,
        Ndp,
        Ip,
    }

    public enum Drop
    {
        [Description("source MAC is not the pod's own")]
        SpoofedMac,
        [Description("ARP sender MAC or IP is not the pod's own")]
        SpoofedArp,
        [Description("IPv4 source is not the pod's own address")]
        SpoofedIp4,
        [Description("IPv6 source is not the pod's own, link-local or unspecified")]
        SpoofedIp6,
    }

    private readonly PortBinding[] _bindings;

    /// <param name="ipNext">The stage IP packets go to next (conntrack when the node runs services, else bridge).</param>
    public SourceGuard(IReadOnlyList<Port> ports, string ipNext)
        : base("source-guard", ["arp", "ndp", ipNext], NamedCounter.Of<Drop>())
    {
        _bindings = new PortBinding[ports.Count];
        foreach (Port port in ports)
        {
            _bindings[port.Id] = new PortBinding(port.Kind == PortKind.Pod, port.Mac, port.Ip4, port.Ip6 ?? default, port.Ip6 is not null);
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
                int reason = Check(in binding, ref meta, frame);
                if (reason >= 0)
                {
                    Drop<TTrace>(graph, p, reason);
                    continue;
                }
            }

            if ((meta.Flags & PacketFlags.Arp) != 0)
            {
                Forward<TTrace>(graph, p, (int)Next.Arp);
            }
            else if ((meta.Flags & PacketFlags.NeighborDiscovery) != 0)
            {
                Forward<TTrace>(graph, p, (int)Next.Ndp);
            }
            else
            {
                Forward<TTrace>(graph, p, (int)Next.Ip);
            }
        }
    }

    /// <summary>Returns the drop reason, or -1 when the packet may pass.</summary>
    private static int Check(in PortBinding binding, ref PacketMeta meta, Span<byte> frame)
    {
        if (MacAddress.Read(frame.Slice(6)) != binding.Mac)
        {
            return (int)Drop.SpoofedMac;
        }

        Span<byte> l3 = frame.Slice(meta.L3Offset);
        if ((meta.Flags & PacketFlags.Ip4) != 0)
        {
            return Ip4Address.Read(l3.Slice(12)) == binding.Ip4 ? -1 : (int)Drop.SpoofedIp4;
        }

        if ((meta.Flags & PacketFlags.Ip6) != 0)
        {
            Ip6Address source = Ip6Address.Read(l3.Slice(8));
            bool allowed = (binding.HasIp6 && source == binding.Ip6) || source.IsLinkLocal || source.IsZero;
            return allowed ? -1 : (int)Drop.SpoofedIp6;
        }

        ArpParse parse = ArpPacket.TryParse(l3, out ArpPacket arp);
        bool arpOk = parse == ArpParse.Ok && arp.SenderMac == binding.Mac && (arp.SenderIp == binding.Ip4 || arp.SenderIp.IsZero);
        return arpOk ? -1 : (int)Drop.SpoofedArp;
    }

    private readonly record struct PortBinding(bool Checked, MacAddress Mac, Ip4Address Ip4, Ip6Address Ip6, bool HasIp6);
}
