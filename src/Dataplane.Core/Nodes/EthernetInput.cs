using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// First stage: parses the Ethernet header, refuses frames no port of ours should accept, and dispatches by
/// EtherType. On the uplink (a promiscuous raw socket) only frames addressed to the dataplane's uplink MAC,
/// broadcast, or IPv6 multicast (Neighbor Discovery) are ours.
/// </summary>
public sealed class EthernetInput : Node<EthernetInput.Next, EthernetInput.Drop, None>
{
    public enum Next
    {
        ArpInput,
        Ip4Input,
        Ip6Input,
        VxlanInput,
    }

    public enum Drop
    {
        [Description("frame shorter than an Ethernet header")]
        Truncated,
        [Description("802.1Q-tagged frame; pod and uplink ports are untagged")]
        VlanTagged,
        [Description("source MAC is a group address")]
        SourceMacMulticast,
        [Description("frame on the uplink not addressed to the dataplane")]
        NotForUs,
        [Description("EtherType other than IPv4, IPv6 or ARP")]
        UnknownEtherType,
    }

    private readonly PortKind[] _portKinds;
    private readonly MacAddress _uplinkMac;
    private readonly ushort _vxlanPort;
    private readonly Ip4Address _uplinkIp;

    /// <summary>The uplink is in place before the graph is built; every other id is a pod's (now or when added).</summary>
    /// <param name="vxlanPort">node.vxlan.port: UDP to <paramref name="uplinkIp"/> and this port goes to vxlan-input; 0 without VXLAN.</param>
    public EthernetInput(PortTable ports, MacAddress uplinkMac, ushort vxlanPort = 0, Ip4Address uplinkIp = default)
    {
        _vxlanPort = vxlanPort;
        _uplinkIp = uplinkIp;
        _portKinds = new PortKind[ports.Capacity];
        if (ports.Uplink is { } uplink)
        {
            _portKinds[uplink.Id] = PortKind.Uplink;
        }

        _uplinkMac = uplinkMac;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            EthernetParse parse = EthernetHeader.TryParse(batch.Frame(p), out EthernetHeader eth);
            if (parse != EthernetParse.Ok)
            {
                Drop<TTrace>(graph, p, Drop.Truncated, meta.Length);
                continue;
            }

            if (eth.HasVlanTag)
            {
                Drop<TTrace>(graph, p, Drop.VlanTagged, eth.VlanId);
                continue;
            }

            MacAddress source = eth.Source;
            if (source.IsMulticast)
            {
                Drop<TTrace>(graph, p, Drop.SourceMacMulticast, (long)source.Value);
                continue;
            }

            MacAddress destination = eth.Destination;
            if (destination.IsMulticast)
            {
                meta.Flags |= PacketFlags.L2Multicast;
            }
            else if (_portKinds[meta.RxPort] == PortKind.Uplink && destination != _uplinkMac)
            {
                Drop<TTrace>(graph, p, Drop.NotForUs, (long)destination.Value);
                continue;
            }

            meta.L3Offset = (ushort)eth.HeaderLength;
            ushort etherType = eth.EtherType;
            switch (etherType)
            {
                case EtherType.Ipv4:
                    meta.Flags |= PacketFlags.Ip4;
                    if (_vxlanPort != 0 && _portKinds[meta.RxPort] == PortKind.Uplink && VxlanInput.IsVxlan(batch.Frame(p), meta.L3Offset, _uplinkIp, _vxlanPort))
                    {
                        Forward<TTrace>(graph, p, Next.VxlanInput, 0, (long)source.Value, (long)destination.Value);
                        break;
                    }

                    Forward<TTrace>(graph, p, Next.Ip4Input, 0, (long)source.Value, (long)destination.Value);
                    break;
                case EtherType.Ipv6:
                    meta.Flags |= PacketFlags.Ip6;
                    Forward<TTrace>(graph, p, Next.Ip6Input, 0, (long)source.Value, (long)destination.Value);
                    break;
                case EtherType.Arp:
                    meta.Flags |= PacketFlags.Arp;
                    Forward<TTrace>(graph, p, Next.ArpInput, 0, (long)source.Value, (long)destination.Value);
                    break;
                default:
                    Drop<TTrace>(graph, p, Drop.UnknownEtherType, etherType);
                    break;
            }
        }
    }

    public override string FormatTrace(in TraceRecord record) => record.Next == TraceRecord.Dropped
        ? ""
        : $"{new MacAddress((ulong)record.A)} > {new MacAddress((ulong)record.B)}";
}
