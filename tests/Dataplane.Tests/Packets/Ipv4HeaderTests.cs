using System.Net;
using Dataplane.Packets;
using Dataplane.Tests.Pipeline;
using PacketDotNet;

namespace Dataplane.Tests.Packets;

[Trait("Category", "unit")]
public sealed class Ipv4HeaderTests
{
    /// <summary>An IPv4/UDP datagram with non-default fields everywhere, built by PacketDotNet.</summary>
    private static IPv4Packet Datagram(int payload = 12, int fragmentFlags = 0, int fragmentOffset = 0)
    {
        var udp = new UdpPacket(40000, 53) { PayloadData = [.. Enumerable.Range(1, payload).Select(static i => (byte)i)] };
        var ip = new IPv4Packet(IPAddress.Parse("10.244.1.20"), IPAddress.Parse("10.96.0.10"))
        {
            TimeToLive = 37, TypeOfService = 0xB8, Id = 0xBEEF, FragmentFlags = fragmentFlags, FragmentOffset = fragmentOffset, PayloadPacket = udp,
        };
        udp.UpdateUdpChecksum();
        ip.UpdateIPChecksum();
        return ip;
    }

    [Fact]
    public void Every_field_reads_as_PacketDotNet_wrote_it()
    {
        IPv4Packet expected = Datagram();
        byte[] data = expected.Bytes;

        Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(data, out Ipv4Header ip));

        Assert.Equal(20, ip.HeaderLength);
        Assert.False(ip.HasOptions);
        Assert.Equal(0xB8, ip.TypeOfService);
        Assert.Equal(expected.TotalLength, ip.TotalLength);
        Assert.Equal(0xBEEF, ip.Identification);
        Assert.False(ip.DontFragment);
        Assert.False(ip.MoreFragments);
        Assert.False(ip.IsFragment);
        Assert.Equal(37, ip.TimeToLive);
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.Equal(expected.Checksum, ip.Checksum);
        Assert.True(ip.IsChecksumValid);
        Assert.Equal(Ip4Address.Parse("10.244.1.20"), ip.Source);
        Assert.Equal(Ip4Address.Parse("10.96.0.10"), ip.Destination);
        Assert.Equal(expected.PayloadPacket.Bytes, ip.Payload.ToArray());
        Assert.Equal(0, ip.Options.Length);
    }

    [Fact]
    public void View_ends_at_total_length_so_ethernet_padding_is_not_payload()
    {
        byte[] datagram = Datagram(payload: 2).Bytes;
        byte[] padded = [.. datagram, 0, 0, 0, 0, 0, 0];

        Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(padded, out Ipv4Header ip));
        Assert.Equal(datagram.Length, ip.Datagram.Length);
        Assert.Equal(10, ip.Payload.Length);
    }

    [Fact]
    public void Fragment_flags_and_offset_tell_first_and_later_fragments_apart()
    {
        Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(Datagram(fragmentFlags: 0b010).Bytes, out Ipv4Header df));
        Assert.True(df.DontFragment);
        Assert.False(df.IsFragment);

        Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(Datagram(fragmentFlags: 0b001).Bytes, out Ipv4Header first));
        Assert.True(first.MoreFragments);
        Assert.True(first.IsFragment);
        Assert.False(first.IsLaterFragment);
        Assert.Equal(0, first.FragmentOffset);

        Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(Datagram(fragmentFlags: 0b001, fragmentOffset: 185).Bytes, out Ipv4Header middle));
        Assert.True(middle.IsFragment);
        Assert.True(middle.IsLaterFragment);
        Assert.Equal(185, middle.FragmentOffset);

        Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(Datagram(fragmentOffset: 0x1FFF).Bytes, out Ipv4Header last));
        Assert.True(last.IsFragment);
        Assert.True(last.IsLaterFragment);
        Assert.False(last.MoreFragments);
        Assert.Equal(0x1FFF, last.FragmentOffset);
    }

    [Fact]
    public void Options_are_part_of_the_header()
    {
        byte[] data = WithOptions(Datagram().Bytes, [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]); // router alert, NOP x3, EOL

        Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(data, out Ipv4Header ip));
        Assert.Equal(28, ip.HeaderLength);
        Assert.True(ip.HasOptions);
        Assert.Equal([0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00], ip.Options.ToArray());
        Assert.True(ip.IsChecksumValid);
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.Equal(data.Length - 28, ip.Payload.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(19)]
    public void Fewer_than_20_bytes_is_truncated(int length)
    {
        Assert.Equal(Ipv4Parse.Truncated, Ipv4Header.TryParse(Datagram().Bytes[..length], out _));
    }

    [Theory]
    [InlineData(0x65)]
    [InlineData(0x05)]
    [InlineData(0xF5)]
    public void Version_other_than_4_is_refused(byte versionIhl)
    {
        byte[] data = Datagram().Bytes;
        data[0] = versionIhl;
        Assert.Equal(Ipv4Parse.NotVersion4, Ipv4Header.TryParse(data, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void Ihl_below_5_is_refused(int ihl)
    {
        byte[] data = Datagram().Bytes;
        data[0] = (byte)(0x40 | ihl);
        Assert.Equal(Ipv4Parse.HeaderLengthTooSmall, Ipv4Header.TryParse(data, out _));
    }

    [Fact]
    public void Ihl_past_the_end_of_the_data_is_refused()
    {
        byte[] data = Datagram(payload: 0).Bytes; // 28 bytes
        data[0] = 0x48; // 32-byte header
        Assert.Equal(Ipv4Parse.HeaderLengthBeyondData, Ipv4Header.TryParse(data, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(19)]
    public void Total_length_below_the_header_is_refused(int totalLength)
    {
        byte[] data = Datagram().Bytes;
        data[2] = (byte)(totalLength >> 8);
        data[3] = (byte)totalLength;
        Assert.Equal(Ipv4Parse.TotalLengthTooSmall, Ipv4Header.TryParse(data, out _));
    }

    [Fact]
    public void Total_length_below_a_header_with_options_is_refused()
    {
        byte[] data = WithOptions(Datagram().Bytes, [1, 1, 1, 0]);
        data[3] = 22; // > 20, < 24
        data[2] = 0;
        Assert.Equal(Ipv4Parse.TotalLengthTooSmall, Ipv4Header.TryParse(data, out _));
    }

    [Fact]
    public void Total_length_past_the_end_of_the_data_is_refused()
    {
        byte[] data = Datagram().Bytes;
        Assert.Equal(Ipv4Parse.TotalLengthBeyondData, Ipv4Header.TryParse(data[..^1], out _));
    }

    [Fact]
    public void Header_checksum_detects_a_flipped_bit()
    {
        byte[] data = Datagram().Bytes;
        data[15] ^= 0x10;
        Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(data, out Ipv4Header ip));
        Assert.False(ip.IsChecksumValid);
    }

    [Fact]
    public void Ttl_decrement_patches_the_checksum_as_a_full_recomputation_would_for_every_ttl()
    {
        var random = new Random(791);
        for (int ttl = 1; ttl <= 255; ttl++)
        {
            IPv4Packet packet = Datagram(payload: random.Next(0, 40));
            packet.TimeToLive = ttl;
            packet.Id = (ushort)random.Next(0, 65536);
            packet.UpdateIPChecksum();
            byte[] data = packet.Bytes;

            Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(data, out Ipv4Header ip));
            ip.DecrementTtl();

            var recomputed = new IPv4Packet(new PacketDotNet.Utils.ByteArraySegment(data.ToArray()));
            recomputed.UpdateIPChecksum();
            Assert.Equal(ttl - 1, data[8]);
            Assert.Equal(recomputed.Checksum, ip.Checksum);
            Assert.True(ReferenceChecksum.IsValid(data.AsSpan(0, 20)));
        }
    }

    [Fact]
    public void Update_checksum_recomputes_from_scratch()
    {
        byte[] data = WithOptions(Datagram().Bytes, [1, 1, 1, 0]);
        Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(data, out Ipv4Header ip));
        ip.Source = Ip4Address.Parse("192.0.2.1");
        ip.Destination = Ip4Address.Parse("198.51.100.7");
        ip.TimeToLive = 3;
        Assert.False(ip.IsChecksumValid);

        ip.UpdateChecksum();

        Assert.True(ReferenceChecksum.IsValid(data.AsSpan(0, 24)));
        Assert.True(new IPv4Packet(new PacketDotNet.Utils.ByteArraySegment(data)).ValidIPChecksum);
    }

    [Fact]
    public void Write_produces_a_header_PacketDotNet_accepts()
    {
        byte[] data = new byte[28];
        Ipv4Header.Write(data, 28, IpProtocol.Icmp, 64, Ip4Address.Parse("10.244.1.1"), Ip4Address.Parse("10.244.1.20"), identification: 0x1234, dontFragment: true);

        var parsed = new IPv4Packet(new PacketDotNet.Utils.ByteArraySegment(data));
        Assert.True(parsed.ValidIPChecksum);
        Assert.Equal(28, parsed.TotalLength);
        Assert.Equal(PacketDotNet.ProtocolType.Icmp, parsed.Protocol);
        Assert.Equal(64, parsed.TimeToLive);
        Assert.Equal(0x1234, parsed.Id);
        Assert.Equal(0b010, parsed.FragmentFlags);
        Assert.Equal(IPAddress.Parse("10.244.1.1"), parsed.SourceAddress);
        Assert.Equal(IPAddress.Parse("10.244.1.20"), parsed.DestinationAddress);
    }

    [Fact]
    public void Pseudo_header_sum_matches_the_reference()
    {
        byte[] data = Datagram(payload: 31).Bytes;
        Assert.Equal(Ipv4Parse.Ok, Ipv4Header.TryParse(data, out Ipv4Header ip));
        ulong expected = ReferenceChecksum.PseudoHeader(IPAddress.Parse("10.244.1.20"), IPAddress.Parse("10.96.0.10"), IpProtocol.Udp, 8 + 31);
        Assert.Equal(ReferenceChecksum.Fold(expected), ReferenceChecksum.Fold(ip.PseudoHeaderSum()));
        Assert.True(ReferenceChecksum.IsValid(ip.Payload, ip.PseudoHeaderSum()));
    }

    /// <summary>Inserts IPv4 options after the 20-byte header and fixes IHL, total length and the header checksum.</summary>
    internal static byte[] WithOptions(byte[] datagram, byte[] options)
    {
        byte[] data = [.. datagram[..20], .. options, .. datagram[20..]];
        data[0] = (byte)(0x40 | ((20 + options.Length) / 4));
        int total = data.Length;
        data[2] = (byte)(total >> 8);
        data[3] = (byte)total;
        data[10] = 0;
        data[11] = 0;
        ushort checksum = ReferenceChecksum.Compute(data.AsSpan(0, 20 + options.Length));
        data[10] = (byte)(checksum >> 8);
        data[11] = (byte)checksum;
        return data;
    }
}
