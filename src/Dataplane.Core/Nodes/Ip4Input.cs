using System.Buffers.Binary;
using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Nodes;

/// <summary>
/// Validates IPv4 (RFC 1812 §5.2.2: version, IHL, total length, header checksum), trims Ethernet padding,
/// notes fragments and options, and locates and checks the L4 header so later stages read it without
/// re-checking. A lying length field is a drop with its own reason, never an exception.
/// </summary>
public sealed class Ip4Input : Node<Ip4Input.Next, Ip4Input.Drop, None>
{
    public enum Next
    {
        SourceGuard,
    }

    public enum Drop
    {
        [Description("IPv4 packet shorter than 20 bytes")]
        Truncated,
        [Description("IP version field is not 4")]
        NotVersion4,
        [Description("IHL below 5 (header shorter than 20 bytes)")]
        HeaderLengthTooSmall,
        [Description("IHL points past the end of the frame")]
        HeaderLengthBeyondFrame,
        [Description("total length smaller than the header")]
        TotalLengthTooSmall,
        [Description("total length beyond the end of the frame")]
        TotalLengthBeyondFrame,
        [Description("IPv4 header checksum is wrong")]
        BadChecksum,
        [Description("source address is multicast, broadcast or in 0.0.0.0/8 or 127.0.0.0/8")]
        BadSource,
        [Description("destination address is 0.0.0.0/8 or loopback")]
        BadDestination,
        [Description("TCP, UDP, SCTP or ICMP header truncated or with a lying length")]
        L4Truncated,
    }

    public Ip4Input()
    {
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Ipv4Parse parse = Ipv4Header.TryParse(batch.Frame(p).Slice(meta.L3Offset), out Ipv4Header ip);
            if (parse != Ipv4Parse.Ok)
            {
                Drop<TTrace>(graph, p, ToDrop(parse));
                continue;
            }

            if (!ip.IsChecksumValid)
            {
                Drop<TTrace>(graph, p, Drop.BadChecksum, ip.Checksum);
                continue;
            }

            Ip4Address source = ip.Source;
            uint sourceNet = source.Value >> 24;
            if (source.IsMulticast || source.IsLimitedBroadcast || sourceNet == 0 || sourceNet == 127)
            {
                Drop<TTrace>(graph, p, Drop.BadSource, source.Value);
                continue;
            }

            uint destinationNet = ip.Destination.Value >> 24;
            if (destinationNet == 0 || destinationNet == 127)
            {
                Drop<TTrace>(graph, p, Drop.BadDestination, ip.Destination.Value);
                continue;
            }

            // Ethernet pads short frames to 60 bytes; the datagram ends at Total Length.
            meta.Length = meta.L3Offset + ip.TotalLength;
            meta.L4Protocol = ip.Protocol;
            if (ip.IsFragment)
            {
                meta.Flags |= PacketFlags.Fragment;
            }

            if (ip.IsLaterFragment)
            {
                meta.Flags |= PacketFlags.LaterFragment;
            }
            else
            {
                int l4Offset = meta.L3Offset + ip.HeaderLength;
                if (!L4HeaderFits(ip.Protocol, ip.Payload, ip.IsFragment))
                {
                    Drop<TTrace>(graph, p, Drop.L4Truncated, ip.Protocol);
                    continue;
                }

                meta.L4Offset = (ushort)l4Offset;
            }

            long traceSource = source.Value, traceDestination = ip.Destination.Value;
            if (TTrace.Enabled && !ip.IsLaterFragment && ip.Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp)
            {
                // L4HeaderFits checked that the ports are there; TCP, UDP and SCTP all start with them, as UDP lays them out.
                ReadOnlySpan<byte> l4 = ip.Payload;
                traceSource |= TraceHasPorts | ((long)BinaryPrimitives.ReadUInt16BigEndian(l4[UdpHeader.SourcePortOffset..]) << 32);
                traceDestination |= (long)BinaryPrimitives.ReadUInt16BigEndian(l4[UdpHeader.DestinationPortOffset..]) << 32;
            }

            Forward<TTrace>(graph, p, Next.SourceGuard, ip.Protocol, traceSource, traceDestination);
        }
    }

    /// <summary>SCTP common header (RFC 9260 §3.1): ports, verification tag, checksum; conntrack reads the ports and NAT rewrites the checksum.</summary>
    private const int SctpCommonHeaderSize = 12;

    /// <summary>
    /// Whether the L4 header the later stages read is all there. In a first fragment the UDP length covers the
    /// whole reassembled datagram, so only the fixed header is checked there.
    /// </summary>
    internal static bool L4HeaderFits(byte protocol, Span<byte> payload, bool fragment) => protocol switch
    {
        IpProtocol.Tcp => TcpHeader.TryParse(payload, out _),
        IpProtocol.Udp => fragment ? payload.Length >= UdpHeader.Size : UdpHeader.TryParse(payload, out _),
        IpProtocol.Icmp or IpProtocol.Icmpv6 => payload.Length >= IcmpHeader.Size,
        IpProtocol.Sctp => payload.Length >= SctpCommonHeaderSize,
        _ => true,
    };

    private static Drop ToDrop(Ipv4Parse parse) => parse switch
    {
        Ipv4Parse.NotVersion4 => Drop.NotVersion4,
        Ipv4Parse.HeaderLengthTooSmall => Drop.HeaderLengthTooSmall,
        Ipv4Parse.HeaderLengthBeyondData => Drop.HeaderLengthBeyondFrame,
        Ipv4Parse.TotalLengthTooSmall => Drop.TotalLengthTooSmall,
        Ipv4Parse.TotalLengthBeyondData => Drop.TotalLengthBeyondFrame,
        _ => Drop.Truncated,
    };

    // Trace record: A = source address, B = destination address, each with its L4 port in bits 32-47 when
    // TraceHasPorts is set in A (TCP, UDP, SCTP, not a later fragment); Code = the IP protocol.
    private const long TraceHasPorts = 1L << 48;

    public override string FormatTrace(in TraceRecord record)
    {
        if (record.Next == TraceRecord.Dropped)
        {
            return "";
        }

        string protocol = record.Code switch
        {
            IpProtocol.Tcp => "tcp",
            IpProtocol.Udp => "udp",
            IpProtocol.Sctp => "sctp",
            IpProtocol.Icmp => "icmp",
            _ => $"proto {record.Code}",
        };
        var source = new Ip4Address((uint)record.A);
        var destination = new Ip4Address((uint)record.B);
        return (record.A & TraceHasPorts) != 0
            ? $"{source}:{(ushort)(record.A >> 32)} > {destination}:{(ushort)(record.B >> 32)} {protocol}"
            : $"{source} > {destination} {protocol}";
    }
}
