using Dataplane.Packets;
using Dataplane.Tests.Pipeline;

namespace Dataplane.Tests.Packets;

[Trait("Category", "unit")]
public sealed class ArpPacketTests
{
    private static byte[] Request() => Frames.ArpRequest("02:00:0a:f4:01:14", "10.244.1.20", "10.244.1.1")[14..];

    [Fact]
    public void Request_built_by_PacketDotNet_parses_with_every_field()
    {
        byte[] data = Request();

        Assert.Equal(ArpParse.Ok, ArpPacket.TryParse(data, out ArpPacket arp));

        Assert.Equal(ArpPacket.OperationRequest, arp.Operation);
        Assert.Equal(MacAddress.Parse("02:00:0a:f4:01:14"), arp.SenderMac);
        Assert.Equal(Ip4Address.Parse("10.244.1.20"), arp.SenderIp);
        Assert.Equal(MacAddress.Zero, arp.TargetMac);
        Assert.Equal(Ip4Address.Parse("10.244.1.1"), arp.TargetIp);
        Assert.False(arp.IsGratuitous);
    }

    [Fact]
    public void Reply_parses_as_reply()
    {
        byte[] data = Frames.ArpReply("02:00:0a:f4:01:0b", "10.244.1.11", "02:00:0a:f4:01:14", "10.244.1.20")[14..];
        Assert.Equal(ArpParse.Ok, ArpPacket.TryParse(data, out ArpPacket arp));
        Assert.Equal(ArpPacket.OperationReply, arp.Operation);
        Assert.Equal(MacAddress.Parse("02:00:0a:f4:01:14"), arp.TargetMac);
    }

    [Fact]
    public void Announcement_of_the_senders_own_address_is_gratuitous()
    {
        byte[] data = Frames.ArpRequest("02:00:0a:f4:01:0c", "10.244.1.12", "10.244.1.12")[14..];
        Assert.Equal(ArpParse.Ok, ArpPacket.TryParse(data, out ArpPacket arp));
        Assert.True(arp.IsGratuitous);
    }

    [Fact]
    public void Every_length_below_28_bytes_is_truncated()
    {
        byte[] data = Request();
        for (int length = 0; length < ArpPacket.Size; length++)
        {
            Assert.Equal(ArpParse.Truncated, ArpPacket.TryParse(data.AsSpan(0, length).ToArray(), out _));
        }
    }

    [Fact]
    public void Ethernet_padding_after_the_packet_is_ignored()
    {
        byte[] data = [.. Request(), .. new byte[18]];
        Assert.Equal(ArpParse.Ok, ArpPacket.TryParse(data, out ArpPacket arp));
        Assert.Equal(Ip4Address.Parse("10.244.1.1"), arp.TargetIp);
    }

    [Theory]
    [InlineData(0, 0x00, 6, "hardware type 6 (IEEE 802)")]
    [InlineData(2, 0x86, 0xDD, "protocol IPv6")]
    [InlineData(4, 8, 4, "8-byte hardware addresses")]
    [InlineData(4, 6, 16, "16-byte protocol addresses")]
    public void Anything_but_ethernet_ipv4_is_unsupported(int offset, byte first, byte second, string what)
    {
        byte[] data = Request();
        data[offset] = first;
        data[offset + 1] = second;
        Assert.True(ArpParse.UnsupportedFormat == ArpPacket.TryParse(data, out _), what);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(0x0101)]
    public void Operations_other_than_request_and_reply_are_unknown(int operation)
    {
        byte[] data = Request();
        data[6] = (byte)(operation >> 8);
        data[7] = (byte)operation;
        Assert.Equal(ArpParse.UnknownOperation, ArpPacket.TryParse(data, out _));
    }

    [Fact]
    public void Setters_turn_a_request_into_the_reply_PacketDotNet_expects()
    {
        byte[] frame = Frames.ArpRequest("02:00:0a:f4:01:14", "10.244.1.20", "10.244.1.1");
        Assert.Equal(ArpParse.Ok, ArpPacket.TryParse(frame.AsSpan(14), out ArpPacket arp));
        arp.Operation = ArpPacket.OperationReply;
        arp.TargetMac = arp.SenderMac;
        arp.TargetIp = arp.SenderIp;
        arp.SenderMac = MacAddress.Parse("02:00:00:00:01:01");
        arp.SenderIp = Ip4Address.Parse("10.244.1.1");

        byte[] expected = Frames.ArpReply("02:00:00:00:01:01", "10.244.1.1", "02:00:0a:f4:01:14", "10.244.1.20");
        Assert.Equal(Convert.ToHexString(expected[14..]), Convert.ToHexString(frame[14..]));
    }

    [Fact]
    public void Write_builds_the_same_request_as_PacketDotNet()
    {
        byte[] data = new byte[ArpPacket.Size];
        ArpPacket.Write(data, ArpPacket.OperationRequest, MacAddress.Parse("02:00:0a:f4:01:14"), Ip4Address.Parse("10.244.1.20"), MacAddress.Zero, Ip4Address.Parse("10.244.1.1"));
        Assert.Equal(Convert.ToHexString(Request()), Convert.ToHexString(data));
    }
}
