using System.Net;
using Dataplane.Packets;
using Dataplane.Tests.Pipeline;
using PacketDotNet;

namespace Dataplane.Tests.Packets;

[Trait("Category", "unit")]
public sealed class Ipv6HeaderTests
{
    private static readonly byte[] s_udp = [0x9c, 0x40, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, 1, 2, 3, 4];

    [Fact]
    public void Every_field_reads_as_PacketDotNet_wrote_it()
    {
        var udp = new UdpPacket(40000, 53) { PayloadData = [1, 2, 3, 4] };
        var expected = new IPv6Packet(IPAddress.Parse("fd00:10:244:1::20"), IPAddress.Parse("fd00:96::10")) { HopLimit = 9, PayloadPacket = udp };
        udp.UpdateUdpChecksum();
        byte[] data = expected.Bytes;

        Assert.Equal(Ipv6Parse.Ok, Ipv6Header.TryParse(data, out Ipv6Header ip));

        Assert.Equal(12, ip.PayloadLength);
        Assert.Equal(IpProtocol.Udp, ip.NextHeader);
        Assert.Equal(9, ip.HopLimit);
        Assert.Equal(Ip6Address.Parse("fd00:10:244:1::20"), ip.Source);
        Assert.Equal(Ip6Address.Parse("fd00:96::10"), ip.Destination);
        Assert.Equal(udp.Bytes, ip.Payload.ToArray());
        Assert.Equal(Ipv6ExtensionWalk.Ok, ip.FindUpperLayer(out byte protocol, out int offset, out bool fragment));
        Assert.Equal(IpProtocol.Udp, protocol);
        Assert.Equal(40, offset);
        Assert.False(fragment);
    }

    [Fact]
    public void View_ends_at_payload_length_so_ethernet_padding_is_not_payload()
    {
        byte[] data = [.. Packet(IpProtocol.Udp, s_udp), 0, 0, 0, 0];
        Assert.Equal(Ipv6Parse.Ok, Ipv6Header.TryParse(data, out Ipv6Header ip));
        Assert.Equal(40 + s_udp.Length, ip.Datagram.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    [InlineData(39)]
    public void Fewer_than_40_bytes_is_truncated(int length)
    {
        Assert.Equal(Ipv6Parse.Truncated, Ipv6Header.TryParse(Packet(IpProtocol.Udp, s_udp)[..length], out _));
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(0x00)]
    [InlineData(0x70)]
    public void Version_other_than_6_is_refused(byte first)
    {
        byte[] data = Packet(IpProtocol.Udp, s_udp);
        data[0] = first;
        Assert.Equal(Ipv6Parse.NotVersion6, Ipv6Header.TryParse(data, out _));
    }

    [Fact]
    public void Payload_length_past_the_end_of_the_data_is_refused()
    {
        byte[] data = Packet(IpProtocol.Udp, s_udp);
        Assert.Equal(Ipv6Parse.PayloadLengthBeyondData, Ipv6Header.TryParse(data[..^1], out _));
    }

    [Fact]
    public void Zero_payload_length_with_hop_by_hop_and_more_data_is_a_jumbogram()
    {
        byte[] data = Packet(IpProtocol.HopByHop, [.. Extension(IpProtocol.Udp, 0), .. s_udp], payloadLength: 0);
        Assert.Equal(Ipv6Parse.JumboPayload, Ipv6Header.TryParse(data, out _));
    }

    [Fact]
    public void Zero_payload_length_with_no_next_header_is_an_empty_packet()
    {
        byte[] data = Packet(IpProtocol.Ipv6NoNext, []);
        Assert.Equal(Ipv6Parse.Ok, Ipv6Header.TryParse(data, out Ipv6Header ip));
        Assert.Equal(Ipv6ExtensionWalk.NoUpperLayer, ip.FindUpperLayer(out _, out _, out _));
    }

    public static TheoryData<string> Walks => new(s_walks.Keys);

    /// <summary>Chains of extension headers, what the walk returns, and where it says the upper layer starts.</summary>
    private static readonly Dictionary<string, (byte First, byte[] Payload, Ipv6ExtensionWalk Result, byte Protocol, int Offset, bool Fragment)> s_walks = new()
    {
        ["hop-by-hop"] = (IpProtocol.HopByHop, [.. Extension(IpProtocol.Udp, 0), .. s_udp], Ipv6ExtensionWalk.Ok, IpProtocol.Udp, 48, false),
        ["hop-by-hop of 16 bytes"] = (IpProtocol.HopByHop, [.. Extension(IpProtocol.Udp, 1), .. s_udp], Ipv6ExtensionWalk.Ok, IpProtocol.Udp, 56, false),
        ["routing"] = (IpProtocol.Ipv6Routing, [.. Extension(IpProtocol.Tcp, 2), .. new byte[20]], Ipv6ExtensionWalk.Ok, IpProtocol.Tcp, 64, false),
        ["destination options"] = (IpProtocol.Ipv6DestinationOptions, [.. Extension(IpProtocol.Icmpv6, 0), .. new byte[8]], Ipv6ExtensionWalk.Ok, IpProtocol.Icmpv6, 48, false),
        ["first fragment"] = (IpProtocol.Ipv6Fragment, [.. Fragment(IpProtocol.Udp, 0, more: true), .. s_udp], Ipv6ExtensionWalk.Ok, IpProtocol.Udp, 48, true),
        ["later fragment"] = (IpProtocol.Ipv6Fragment, [.. Fragment(IpProtocol.Udp, 185, more: true), .. new byte[16]], Ipv6ExtensionWalk.LaterFragment, IpProtocol.Udp, 40, true),
        ["last fragment"] = (IpProtocol.Ipv6Fragment, [.. Fragment(IpProtocol.Tcp, 1, more: false), .. new byte[16]], Ipv6ExtensionWalk.LaterFragment, IpProtocol.Tcp, 40, true),
        ["hop-by-hop, routing, fragment, destination options"] = (IpProtocol.HopByHop,
            [.. Extension(IpProtocol.Ipv6Routing, 0), .. Extension(IpProtocol.Ipv6Fragment, 1), .. Fragment(IpProtocol.Ipv6DestinationOptions, 0, more: true),
             .. Extension(IpProtocol.Udp, 0), .. s_udp],
            Ipv6ExtensionWalk.Ok, IpProtocol.Udp, 40 + 8 + 16 + 8 + 8, true),
        ["authentication header"] = (IpProtocol.Ah, [.. Ah(IpProtocol.Udp, 4), .. s_udp], Ipv6ExtensionWalk.Ok, IpProtocol.Udp, 40 + 24, false),
        ["ESP"] = (IpProtocol.Esp, new byte[24], Ipv6ExtensionWalk.NoUpperLayer, IpProtocol.Esp, 40, false),
        ["no next header after hop-by-hop"] = (IpProtocol.HopByHop, Extension(IpProtocol.Ipv6NoNext, 0), Ipv6ExtensionWalk.NoUpperLayer, IpProtocol.Ipv6NoNext, 48, false),
        ["8 extension headers"] = (IpProtocol.HopByHop, [.. Chain(8, IpProtocol.Udp), .. s_udp], Ipv6ExtensionWalk.Ok, IpProtocol.Udp, 40 + 64, false),
        ["9 extension headers"] = (IpProtocol.HopByHop, [.. Chain(9, IpProtocol.Udp), .. s_udp], Ipv6ExtensionWalk.TooManyHeaders, IpProtocol.Ipv6DestinationOptions, 40 + 72, false),
        ["hop-by-hop cut short"] = (IpProtocol.HopByHop, new byte[4], Ipv6ExtensionWalk.Truncated, IpProtocol.HopByHop, 40, false),
        ["hop-by-hop then an empty upper layer"] = (IpProtocol.HopByHop, [.. Extension(IpProtocol.Udp, 0)[..2], 0, 0, 0, 0, 0, 0], Ipv6ExtensionWalk.Ok, IpProtocol.Udp, 48, false),
        ["hop-by-hop claiming 24 bytes of 8"] = (IpProtocol.HopByHop, WithLength(Extension(IpProtocol.Udp, 0), 2), Ipv6ExtensionWalk.Truncated, IpProtocol.Udp, 64, false),
        ["fragment header cut short"] = (IpProtocol.Ipv6Fragment, new byte[7], Ipv6ExtensionWalk.Truncated, IpProtocol.Ipv6Fragment, 40, false),
        ["routing header cut short after hop-by-hop"] = (IpProtocol.HopByHop, [.. Extension(IpProtocol.Ipv6Routing, 0), 0, 0, 0], Ipv6ExtensionWalk.Truncated, IpProtocol.Ipv6Routing, 48, false),
        ["authentication header cut short"] = (IpProtocol.Ah, new byte[6], Ipv6ExtensionWalk.Truncated, IpProtocol.Ah, 40, false),
    };

    [Theory]
    [MemberData(nameof(Walks))]
    public void Extension_header_walk(string chain)
    {
        (byte first, byte[] payload, Ipv6ExtensionWalk result, byte protocol, int offset, bool fragment) = s_walks[chain];
        byte[] data = Packet(first, payload);
        Assert.Equal(Ipv6Parse.Ok, Ipv6Header.TryParse(data, out Ipv6Header ip));

        Ipv6ExtensionWalk walk = ip.FindUpperLayer(out byte foundProtocol, out int foundOffset, out bool foundFragment);

        Assert.Equal(result, walk);
        if (result is Ipv6ExtensionWalk.Ok or Ipv6ExtensionWalk.LaterFragment)
        {
            Assert.Equal(protocol, foundProtocol);
            Assert.Equal(fragment, foundFragment);
        }

        if (result == Ipv6ExtensionWalk.Ok)
        {
            Assert.Equal(offset, foundOffset);
            Assert.True(foundOffset <= data.Length);
        }
    }

    [Fact]
    public void Hop_limit_setter_writes_the_field()
    {
        byte[] data = Packet(IpProtocol.Udp, s_udp);
        Assert.Equal(Ipv6Parse.Ok, Ipv6Header.TryParse(data, out Ipv6Header ip));
        ip.HopLimit--;
        Assert.Equal(63, data[7]);
    }

    [Fact]
    public void Write_produces_a_header_PacketDotNet_reads_back()
    {
        byte[] data = new byte[48];
        Ipv6Header.Write(data, 8, IpProtocol.Icmpv6, 255, Ip6Address.Parse("fd00::1"), Ip6Address.Parse("ff02::1"));

        var parsed = new IPv6Packet(new PacketDotNet.Utils.ByteArraySegment(data));
        Assert.Equal(IPVersion.IPv6, parsed.Version);
        Assert.Equal(8, parsed.PayloadLength);
        Assert.Equal(PacketDotNet.ProtocolType.IcmpV6, parsed.NextHeader);
        Assert.Equal(255, parsed.HopLimit);
        Assert.Equal(0, parsed.TrafficClass);
        Assert.Equal(0, parsed.FlowLabel);
        Assert.Equal(IPAddress.Parse("fd00::1"), parsed.SourceAddress);
        Assert.Equal(IPAddress.Parse("ff02::1"), parsed.DestinationAddress);
    }

    [Fact]
    public void Solicited_node_multicast_keeps_the_low_24_bits()
    {
        Assert.Equal(Ip6Address.Parse("ff02::1:ff00:11"), Ip6Address.Parse("fd00:10:244:1::11").SolicitedNodeMulticast);
        Assert.Equal(Ip6Address.Parse("ff02::1:ffab:cdef"), Ip6Address.Parse("2001:db8::12ab:cdef").SolicitedNodeMulticast);
    }

    [Fact]
    public void Pseudo_header_sum_matches_the_reference()
    {
        var source = IPAddress.Parse("fd00:10:244:1::20");
        var destination = IPAddress.Parse("fd00:10:244:2::12");
        ulong sum = InternetChecksum.PseudoHeaderSum(Ip6Address.FromIPAddress(source), Ip6Address.FromIPAddress(destination), IpProtocol.Udp, 1234);
        Assert.Equal(ReferenceChecksum.Fold(ReferenceChecksum.PseudoHeader(source, destination, IpProtocol.Udp, 1234)), ReferenceChecksum.Fold(sum));
    }

    /// <summary>A fixed header (fd00::1 > fd00::2, hop limit 64) and the given payload.</summary>
    internal static byte[] Packet(byte nextHeader, byte[] payload, int? payloadLength = null)
    {
        byte[] data = new byte[40 + payload.Length];
        data[0] = 0x60;
        int length = payloadLength ?? payload.Length;
        data[4] = (byte)(length >> 8);
        data[5] = (byte)length;
        data[6] = nextHeader;
        data[7] = 64;
        IPAddress.Parse("fd00::1").GetAddressBytes().CopyTo(data, 8);
        IPAddress.Parse("fd00::2").GetAddressBytes().CopyTo(data, 24);
        payload.CopyTo(data, 40);
        return data;
    }

    /// <summary>A generic extension header (hop-by-hop, routing, destination options) of (units + 1) * 8 bytes, padded with PadN.</summary>
    internal static byte[] Extension(byte next, int units)
    {
        byte[] header = new byte[(units + 1) * 8];
        header[0] = next;
        header[1] = (byte)units;
        header[2] = 1; // PadN
        header[3] = (byte)(header.Length - 4);
        return header;
    }

    internal static byte[] Fragment(byte next, int offsetUnits, bool more)
    {
        int field = (offsetUnits << 3) | (more ? 1 : 0);
        return [next, 0, (byte)(field >> 8), (byte)field, 0xDE, 0xAD, 0xBE, 0xEF];
    }

    private static byte[] Ah(byte next, int lengthField)
    {
        byte[] header = new byte[(lengthField + 2) * 4];
        header[0] = next;
        header[1] = (byte)lengthField;
        return header;
    }

    /// <summary>A hop-by-hop header followed by count - 1 destination options headers, the last pointing to <paramref name="last"/>.</summary>
    private static byte[] Chain(int count, byte last)
    {
        var bytes = new List<byte>();
        for (int i = 0; i < count; i++)
        {
            bytes.AddRange(Extension(i == count - 1 ? last : IpProtocol.Ipv6DestinationOptions, 0));
        }

        return [.. bytes];
    }

    private static byte[] WithLength(byte[] header, byte units)
    {
        header[1] = units;
        return header;
    }
}
