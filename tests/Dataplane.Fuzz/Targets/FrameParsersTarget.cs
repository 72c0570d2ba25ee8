using Dataplane.Packets;

namespace Dataplane.Fuzz.Targets;

/// <summary>
/// The header parsers on their own (Packets/): each parser on the bytes at the offset where the layer below says
/// its layer starts, and, for the layers that may be anywhere (ARP, ICMP, TCP, UDP, VXLAN), on the input itself.
/// A parser that says Ok must hand out views inside the input: every span property is read and its length checked.
/// </summary>
public static class FrameParsersTarget
{
    public static void Run(byte[] input)
    {
        Span<byte> data = input;
        ParseTransports(data, IpProtocol.Tcp);
        ParseTransports(data, IpProtocol.Udp);
        ParseTransports(data, IpProtocol.Icmp);
        ParseArp(data);
        ParseIp(data);

        if (EthernetHeader.TryParse(data, out EthernetHeader ethernet) != EthernetParse.Ok)
        {
            return;
        }

        Inside(ethernet.Payload.Length + ethernet.HeaderLength, data.Length, "ethernet header and payload");
        _ = ethernet.VlanId;
        ParseArp(ethernet.Payload);
        ParseIp(ethernet.Payload);
    }

    private static void ParseIp(Span<byte> data)
    {
        if (Ipv4Header.TryParse(data, out Ipv4Header ip4) == Ipv4Parse.Ok)
        {
            Inside(ip4.Datagram.Length, data.Length, "ipv4 datagram");
            Inside(ip4.Header.Length + ip4.Payload.Length, ip4.Datagram.Length, "ipv4 header and payload");
            Inside(ip4.Options.Length, ip4.Header.Length, "ipv4 options");
            _ = (ip4.IsChecksumValid, ip4.FragmentOffset, ip4.IsLaterFragment, ip4.PseudoHeaderSum());
            if (!ip4.IsLaterFragment)
            {
                ParseTransports(ip4.Payload, ip4.Protocol);
            }
        }

        if (Ipv6Header.TryParse(data, out Ipv6Header ip6) == Ipv6Parse.Ok)
        {
            Inside(ip6.Datagram.Length, data.Length, "ipv6 datagram");
            if (ip6.FindUpperLayer(out byte protocol, out int offset, out bool isFragment) == Ipv6ExtensionWalk.Ok)
            {
                Inside(offset, ip6.Datagram.Length, "ipv6 upper-layer offset");
                if (!isFragment)
                {
                    ParseTransports(ip6.Datagram[offset..], protocol);
                }
            }
        }
    }

    private static void ParseTransports(Span<byte> data, byte protocol)
    {
        if (protocol == IpProtocol.Tcp && TcpHeader.TryParse(data, out TcpHeader tcp))
        {
            Inside(tcp.Segment.Length, data.Length, "tcp segment");
            Inside(tcp.HeaderLength + tcp.Payload.Length, tcp.Segment.Length, "tcp header and payload");
            _ = (tcp.SequenceNumber, tcp.AcknowledgmentNumber, tcp.Window, tcp.Checksum);
        }

        if (protocol == IpProtocol.Udp && UdpHeader.TryParse(data, out UdpHeader udp))
        {
            Inside(udp.Datagram.Length, data.Length, "udp datagram");
            _ = (udp.Payload.Length, udp.Length, udp.Checksum);
            if (VxlanHeader.TryParse(udp.Payload, out VxlanHeader vxlan))
            {
                Inside(vxlan.Payload.Length, udp.Payload.Length, "vxlan payload");
                _ = (vxlan.HasVni, vxlan.Vni);
                // What a VXLAN packet carries is a frame again: the decapsulated path parses it the same way.
                if (EthernetHeader.TryParse(vxlan.Payload, out EthernetHeader inner) == EthernetParse.Ok)
                {
                    ParseIp(inner.Payload);
                }
            }
        }

        if (protocol == IpProtocol.Icmp && IcmpHeader.TryParse(data, out IcmpHeader icmp))
        {
            Inside(icmp.Message.Length, data.Length, "icmp message");
            _ = (icmp.Body.Length, icmp.Sequence, icmp.RestOfHeader);
            // An ICMP error quotes the datagram that caused it: icmp-error-nat parses the quote.
            ParseIp(icmp.Body);
        }
    }

    private static void ParseArp(Span<byte> data)
    {
        if (ArpPacket.TryParse(data, out ArpPacket arp) == ArpParse.Ok)
        {
            _ = arp.IsGratuitous;
        }
    }

    private static void Inside(int length, int limit, string what)
    {
        if (length < 0 || length > limit)
        {
            throw new FuzzInvariantException($"{what}: {length} bytes from an input of {limit}");
        }
    }
}
