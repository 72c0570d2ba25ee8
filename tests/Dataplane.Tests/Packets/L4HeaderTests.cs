using System.Net;
using Dataplane.Packets;
using PacketDotNet;

namespace Dataplane.Tests.Packets;

/// <summary>TCP, UDP and ICMP views: fields as PacketDotNet wrote them, and lying length fields refused.</summary>
[Trait("Category", "unit")]
public sealed class L4HeaderTests
{
    private static byte[] Tcp(byte[]? payload = null)
    {
        var tcp = new TcpPacket(40000, 8080)
        {
            SequenceNumber = 0x01020304, AcknowledgmentNumber = 0xA0B0C0D0, Synchronize = true, Acknowledgment = true,
            WindowSize = 1234, PayloadData = payload ?? [9, 8, 7],
        };
        var ip = new IPv4Packet(IPAddress.Parse("10.244.1.20"), IPAddress.Parse("10.244.1.11")) { PayloadPacket = tcp };
        tcp.UpdateTcpChecksum();
        return tcp.Bytes;
    }

    [Fact]
    public void Tcp_fields_read_as_PacketDotNet_wrote_them()
    {
        byte[] data = Tcp();
        var expected = new TcpPacket(new PacketDotNet.Utils.ByteArraySegment(data));

        Assert.True(TcpHeader.TryParse(data, out TcpHeader tcp));

        Assert.Equal(40000, tcp.SourcePort);
        Assert.Equal(8080, tcp.DestinationPort);
        Assert.Equal(0x01020304u, tcp.SequenceNumber);
        Assert.Equal(0xA0B0C0D0u, tcp.AcknowledgmentNumber);
        Assert.Equal(20, tcp.HeaderLength);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, tcp.Flags);
        Assert.Equal(1234, tcp.Window);
        Assert.Equal(expected.Checksum, tcp.Checksum);
        Assert.Equal([9, 8, 7], tcp.Payload.ToArray());
        Assert.Equal(data.Length, tcp.Segment.Length);
    }

    [Fact]
    public void Tcp_options_are_part_of_the_header()
    {
        byte[] data = [.. Tcp(payload: [])[..20], 2, 4, 0x05, 0xB4, 1, 1, 4, 2, 0xAA];
        data[12] = 7 << 4;
        Assert.True(TcpHeader.TryParse(data, out TcpHeader tcp));
        Assert.Equal(28, tcp.HeaderLength);
        Assert.Equal([0xAA], tcp.Payload.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    [InlineData(19)]
    public void Tcp_shorter_than_20_bytes_is_refused(int length)
    {
        Assert.False(TcpHeader.TryParse(Tcp()[..length], out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void Tcp_data_offset_below_5_is_refused(int dataOffset)
    {
        byte[] data = Tcp();
        data[12] = (byte)(dataOffset << 4);
        Assert.False(TcpHeader.TryParse(data, out _));
    }

    [Theory]
    [InlineData(6, 20)]
    [InlineData(15, 59)]
    public void Tcp_data_offset_past_the_segment_is_refused(int dataOffset, int length)
    {
        byte[] data = new byte[length];
        Tcp().AsSpan(0, 20).CopyTo(data);
        data[12] = (byte)(dataOffset << 4);
        Assert.False(TcpHeader.TryParse(data, out _));
    }

    [Fact]
    public void Tcp_data_offset_of_exactly_the_segment_parses()
    {
        byte[] data = new byte[60];
        Tcp().AsSpan(0, 20).CopyTo(data);
        data[12] = 15 << 4;
        Assert.True(TcpHeader.TryParse(data, out TcpHeader tcp));
        Assert.Equal(0, tcp.Payload.Length);
    }

    [Fact]
    public void Tcp_setters_write_ports_and_checksum()
    {
        byte[] data = Tcp();
        Assert.True(TcpHeader.TryParse(data, out TcpHeader tcp));
        tcp.SourcePort = 1;
        tcp.DestinationPort = 0xFFFE;
        tcp.Checksum = 0xABCD;
        Assert.Equal([0, 1, 0xFF, 0xFE], data[..4]);
        Assert.Equal([0xAB, 0xCD], data[16..18]);
    }

    private static byte[] Udp(int payload = 5)
    {
        var udp = new UdpPacket(40000, 53) { PayloadData = new byte[payload] };
        var ip = new IPv4Packet(IPAddress.Parse("10.244.1.20"), IPAddress.Parse("10.96.0.10")) { PayloadPacket = udp };
        udp.UpdateUdpChecksum();
        return udp.Bytes;
    }

    [Fact]
    public void Udp_fields_read_as_PacketDotNet_wrote_them()
    {
        byte[] data = Udp();
        var expected = new UdpPacket(new PacketDotNet.Utils.ByteArraySegment(data));

        Assert.True(UdpHeader.TryParse(data, out UdpHeader udp));

        Assert.Equal(40000, udp.SourcePort);
        Assert.Equal(53, udp.DestinationPort);
        Assert.Equal(13, udp.Length);
        Assert.Equal(expected.Checksum, udp.Checksum);
        Assert.Equal(5, udp.Payload.Length);
    }

    [Fact]
    public void Udp_view_ends_at_its_length_field()
    {
        byte[] data = [.. Udp(payload: 2), 0xEE, 0xEE, 0xEE];
        Assert.True(UdpHeader.TryParse(data, out UdpHeader udp));
        Assert.Equal(10, udp.Datagram.Length);
        Assert.Equal(2, udp.Payload.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Udp_shorter_than_8_bytes_is_refused(int length)
    {
        Assert.False(UdpHeader.TryParse(Udp()[..length], out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Udp_length_below_the_header_is_refused(int length)
    {
        byte[] data = Udp();
        data[4] = 0;
        data[5] = (byte)length;
        Assert.False(UdpHeader.TryParse(data, out _));
    }

    [Theory]
    [InlineData(14)]
    [InlineData(0xFFFF)]
    public void Udp_length_past_the_data_is_refused(int length)
    {
        byte[] data = Udp();
        data[4] = (byte)(length >> 8);
        data[5] = (byte)length;
        Assert.False(UdpHeader.TryParse(data, out _));
    }

    [Fact]
    public void Icmp_fields_read_from_an_echo_request()
    {
        byte[] data = [8, 0, 0x12, 0x34, 0x00, 0x07, 0x00, 0x02, 0xAA, 0xBB];
        Assert.True(IcmpHeader.TryParse(data, out IcmpHeader icmp));
        Assert.Equal(8, icmp.Type);
        Assert.Equal(0, icmp.Code);
        Assert.Equal(0x1234, icmp.Checksum);
        Assert.Equal(7, icmp.Identifier);
        Assert.Equal(2, icmp.Sequence);
        Assert.Equal(0x0007_0002u, icmp.RestOfHeader);
        Assert.Equal([0xAA, 0xBB], icmp.Body.ToArray());
    }

    [Fact]
    public void Icmp_shorter_than_8_bytes_is_refused()
    {
        Assert.False(IcmpHeader.TryParse(new byte[7], out _));
        Assert.True(IcmpHeader.TryParse(new byte[8], out _));
    }

    [Fact]
    public void Icmp_write_sets_type_code_and_rest_and_zeroes_the_checksum()
    {
        byte[] data = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        IcmpHeader.Write(data, Icmp4Type.DestinationUnreachable, Icmp4Type.CodeFragmentationNeeded, 1400);
        Assert.Equal([3, 4, 0, 0, 0, 0, 0x05, 0x78], data);
        Assert.True(IcmpHeader.TryParse(data, out IcmpHeader icmp));
        Assert.Equal(1400, icmp.NextHopMtu);
    }

    [Fact]
    public void Error_types_are_told_from_queries()
    {
        Assert.All(new byte[] { 3, 4, 5, 11, 12 }, static t => Assert.True(Icmp4Type.IsError(t)));
        Assert.All(new byte[] { 0, 8, 13, 14 }, static t => Assert.False(Icmp4Type.IsError(t)));
        Assert.All(new byte[] { 1, 2, 3, 4, 127 }, static t => Assert.True(Icmp6Type.IsError(t)));
        Assert.All(new byte[] { 128, 129, 133, 135, 136 }, static t => Assert.False(Icmp6Type.IsError(t)));
    }
}
