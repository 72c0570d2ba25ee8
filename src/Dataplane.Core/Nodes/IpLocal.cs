using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// Packets for the dataplane's own addresses (gateway, uplink). Answers ICMP and ICMPv6 echo in place (so
/// `ping &lt;gateway&gt;` works from a pod, and from a pod behind a VXLAN peer: that reply goes back through vxlan-encap)
/// and UDP with port unreachable, as a host with no listener would.
/// Nothing else terminates here.
/// </summary>
public sealed class IpLocal : Node<IpLocal.Next, IpLocal.Drop, IpLocal.Event>
{
    public enum Next
    {
        IcmpError,
        InterfaceOutput,
        VxlanEncap,
    }

    public enum Drop
    {
        [Description("ICMP message to us with a bad checksum")]
        BadIcmpChecksum,
        [Description("ICMP to us other than echo request")]
        IcmpNotEcho,
        [Description("fragment to us; the dataplane does not reassemble")]
        Fragment,
        [Description("TCP or another protocol to us; nothing listens on the dataplane's addresses")]
        ProtocolNotServed,
    }

    public enum Event
    {
        [Description("echo replies sent")]
        EchoReplies,
    }

    private const ushort TraceEcho = 1;
    private const byte ReplyTtl = 64;

    private readonly LocalAddress[] _local;

    public IpLocal(PortTable ports, LocalAddresses local)
    {
        _local = local.PerPort(ports);
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            if ((meta.Flags & PacketFlags.Fragment) != 0)
            {
                Drop<TTrace>(graph, p, Drop.Fragment);
                continue;
            }

            bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
            switch (meta.L4Protocol)
            {
                case IpProtocol.Icmp when v4:
                case IpProtocol.Icmpv6 when !v4:
                    Echo<TTrace>(graph, p, ref meta, v4);
                    break;
                case IpProtocol.Udp:
                    meta.IcmpType = v4 ? Icmp4Type.DestinationUnreachable : Icmp6Type.DestinationUnreachable;
                    meta.IcmpCode = v4 ? Icmp4Type.CodePortUnreachable : Icmp6Type.CodePortUnreachable;
                    Forward<TTrace>(graph, p, Next.IcmpError);
                    break;
                default:
                    Drop<TTrace>(graph, p, Drop.ProtocolNotServed, meta.L4Protocol);
                    break;
            }
        }
    }

    private void Echo<TTrace>(Graph graph, ushort p, ref PacketMeta meta, bool v4)
        where TTrace : struct, ITraceMode
    {
        Span<byte> frame = graph.Batch.Frame(p);
        Span<byte> l3 = frame.Slice(meta.L3Offset);
        IcmpHeader.TryParse(frame.Slice(meta.L4Offset), out IcmpHeader icmp);
        ulong pseudo = 0;
        if (v4)
        {
            Ipv4Header.TryParse(l3, out Ipv4Header ip4);
            icmp = Trim(icmp, ip4.Payload.Length);
        }
        else
        {
            Ipv6Header.TryParse(l3, out Ipv6Header ip6);
            int length = ip6.Datagram.Length - (meta.L4Offset - meta.L3Offset);
            icmp = Trim(icmp, length);
            pseudo = InternetChecksum.PseudoHeaderSum(ip6.Source, ip6.Destination, IpProtocol.Icmpv6, length);
        }

        if (!InternetChecksum.IsValid(icmp.Message, pseudo))
        {
            Drop<TTrace>(graph, p, Drop.BadIcmpChecksum);
            return;
        }

        byte request = v4 ? Icmp4Type.EchoRequest : Icmp6Type.EchoRequest;
        if (icmp.Type != request || icmp.Code != 0)
        {
            Drop<TTrace>(graph, p, Drop.IcmpNotEcho, icmp.Type);
            return;
        }

        // Type changes request -> reply; swapping source and destination leaves every sum unchanged.
        var delta = default(ChecksumDelta);
        byte reply = v4 ? Icmp4Type.EchoReply : Icmp6Type.EchoReply;
        delta.Add16((ushort)(request << 8), (ushort)(reply << 8));
        icmp.Type = reply;
        icmp.Checksum = delta.Apply(icmp.Checksum);

        if (v4)
        {
            Ipv4Header.TryParse(l3, out Ipv4Header ip4);
            Ip4Address source = ip4.Source;
            ip4.Source = ip4.Destination;
            ip4.Destination = source;
            ip4.TimeToLive = ReplyTtl;
            ip4.UpdateChecksum();
        }
        else
        {
            Ipv6Header.TryParse(l3, out Ipv6Header ip6);
            Ip6Address source = ip6.Source;
            ip6.Source = ip6.Destination;
            ip6.Destination = source;
            ip6.HopLimit = ReplyTtl;
        }

        EthernetHeader.SwapAddresses(frame, _local[meta.RxPort].Mac);
        meta.TxPort = meta.RxPort;
        Count(Event.EchoReplies);

        // A pod behind another node's VTEP asked: the reply is routed back into the tunnel, not onto the uplink bare.
        Forward<TTrace>(graph, p, (meta.Flags & PacketFlags.Decapsulated) != 0 ? Next.VxlanEncap : Next.InterfaceOutput, TraceEcho, icmp.Identifier, icmp.Sequence);
    }

    private static IcmpHeader Trim(IcmpHeader icmp, int length)
    {
        IcmpHeader.TryParse(icmp.Message.Slice(0, length), out IcmpHeader trimmed);
        return trimmed;
    }

    public override string FormatTrace(in TraceRecord record) => record.Code == TraceEcho && record.Next != TraceRecord.Dropped
        ? $"echo reply id {record.A} seq {record.B}"
        : "";
}
