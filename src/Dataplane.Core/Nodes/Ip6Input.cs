using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// Validates IPv6 (RFC 8200): version and payload length against the frame, walks extension headers to the
/// upper-layer header, checks that header's length, and marks Neighbor Discovery for the ndp stage.
/// </summary>
public sealed class Ip6Input : Node<Ip6Input.Next, Ip6Input.Drop, None>
{
    public enum Next
    {
        SourceGuard,
    }

    public enum Drop
    {
        [Description("IPv6 packet shorter than 40 bytes")]
        Truncated,
        [Description("IP version field is not 6")]
        NotVersion6,
        [Description("payload length beyond the end of the frame")]
        PayloadLengthBeyondFrame,
        [Description("jumbogram (RFC 2675); not supported")]
        Jumbogram,
        [Description("extension header runs past the end of the packet")]
        ExtensionHeaderTruncated,
        [Description("more than 8 extension headers")]
        TooManyExtensionHeaders,
        [Description("source address is multicast")]
        BadSource,
        [Description("destination is loopback or unspecified")]
        BadDestination,
        [Description("TCP, UDP, SCTP or ICMPv6 header truncated or with a lying length")]
        L4Truncated,
    }

    private static readonly Ip6Address Loopback = new(0, 1);

    public Ip6Input()
    {
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Ipv6Parse parse = Ipv6Header.TryParse(batch.Frame(p).Slice(meta.L3Offset), out Ipv6Header ip);
            if (parse != Ipv6Parse.Ok)
            {
                Drop<TTrace>(graph, p, parse switch
                {
                    Ipv6Parse.NotVersion6 => Drop.NotVersion6,
                    Ipv6Parse.PayloadLengthBeyondData => Drop.PayloadLengthBeyondFrame,
                    Ipv6Parse.JumboPayload => Drop.Jumbogram,
                    _ => Drop.Truncated,
                });
                continue;
            }

            if (ip.Source.IsMulticast)
            {
                Drop<TTrace>(graph, p, Drop.BadSource);
                continue;
            }

            Ip6Address destination = ip.Destination;
            if (destination.IsZero || destination == Loopback)
            {
                Drop<TTrace>(graph, p, Drop.BadDestination);
                continue;
            }

            meta.Length = meta.L3Offset + ip.Datagram.Length;
            Ipv6ExtensionWalk walk = ip.FindUpperLayer(out byte protocol, out int offset, out bool isFragment);
            meta.L4Protocol = protocol;
            if (isFragment)
            {
                meta.Flags |= PacketFlags.Fragment;
            }

            switch (walk)
            {
                case Ipv6ExtensionWalk.Ok:
                    Span<byte> upper = ip.Datagram.Slice(offset);
                    if (!Ip4Input.L4HeaderFits(protocol, upper, isFragment))
                    {
                        Drop<TTrace>(graph, p, Drop.L4Truncated, protocol);
                        continue;
                    }

                    meta.L4Offset = (ushort)(meta.L3Offset + offset);
                    if (protocol == IpProtocol.Icmpv6 && upper[IcmpHeader.TypeOffset] is >= Icmp6Type.RouterSolicitation and <= Icmp6Type.Redirect)
                    {
                        meta.Flags |= PacketFlags.NeighborDiscovery;
                    }

                    break;
                case Ipv6ExtensionWalk.LaterFragment:
                    meta.Flags |= PacketFlags.LaterFragment;
                    break;
                case Ipv6ExtensionWalk.NoUpperLayer:
                    break;
                case Ipv6ExtensionWalk.TooManyHeaders:
                    Drop<TTrace>(graph, p, Drop.TooManyExtensionHeaders);
                    continue;
                default:
                    Drop<TTrace>(graph, p, Drop.ExtensionHeaderTruncated);
                    continue;
            }

            Forward<TTrace>(graph, p, Next.SourceGuard, protocol, (long)destination.Hi, (long)destination.Lo);
        }
    }

    public override string FormatTrace(in TraceRecord record) => record.Next == TraceRecord.Dropped
        ? ""
        : $"> {new Ip6Address((ulong)record.A, (ulong)record.B)} next-header {record.Code}";
}
