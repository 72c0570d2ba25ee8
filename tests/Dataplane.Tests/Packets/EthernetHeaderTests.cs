using Dataplane.Packets;
using Dataplane.Tests.Pipeline;
using PacketDotNet;

namespace Dataplane.Tests.Packets;

[Trait("Category", "unit")]
public sealed class EthernetHeaderTests
{
    private static byte[] UdpFrame() => Frames.Udp4("02:00:0a:f4:01:14", "02:00:00:00:01:01", "10.244.1.20", "10.244.1.11", 1000, 2000);

    [Fact]
    public void Untagged_frame_exposes_the_same_fields_as_PacketDotNet()
    {
        byte[] frame = UdpFrame();
        var expected = Frames.Parse(frame);

        Assert.Equal(EthernetParse.Ok, EthernetHeader.TryParse(frame, out EthernetHeader eth));

        Assert.False(eth.HasVlanTag);
        Assert.Equal(14, eth.HeaderLength);
        Assert.Equal(0, eth.VlanId);
        Assert.Equal((ushort)expected.Type, eth.EtherType);
        Assert.Equal(expected.DestinationHardwareAddress.ToString(), eth.Destination.ToString().Replace(":", "").ToUpperInvariant());
        Assert.Equal(expected.SourceHardwareAddress.ToString(), eth.Source.ToString().Replace(":", "").ToUpperInvariant());
        Assert.Equal(frame.Length - 14, eth.Payload.Length);
        Assert.Equal(expected.PayloadPacket.Bytes, eth.Payload.ToArray());
    }

    [Fact]
    public void Vlan_tag_is_seen_through_to_the_inner_ethertype_and_vlan_id()
    {
        byte[] untagged = UdpFrame();
        byte[] frame = [.. untagged[..12], 0x81, 0x00, 0x20, 0x64, .. untagged[12..]]; // PCP 1, VID 100

        Assert.Equal(EthernetParse.Ok, EthernetHeader.TryParse(frame, out EthernetHeader eth));

        Assert.True(eth.HasVlanTag);
        Assert.Equal(18, eth.HeaderLength);
        Assert.Equal(100, eth.VlanId);
        Assert.Equal(EtherType.Ipv4, eth.EtherType);
        Assert.Equal(untagged[14..], eth.Payload.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData(12)]
    [InlineData(13)]
    public void Frame_shorter_than_14_bytes_is_truncated(int length)
    {
        byte[] frame = UdpFrame()[..length];
        Assert.Equal(EthernetParse.Truncated, EthernetHeader.TryParse(frame, out _));
    }

    [Theory]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(17)]
    public void Vlan_tpid_without_the_whole_tag_is_a_truncated_tag(int length)
    {
        byte[] frame = new byte[length];
        frame[0] = 0xFF;
        frame[12] = 0x81;
        Assert.Equal(EthernetParse.TruncatedVlanTag, EthernetHeader.TryParse(frame, out _));
    }

    [Fact]
    public void Exactly_a_vlan_tag_and_no_payload_parses()
    {
        byte[] frame = new byte[18];
        frame[12] = 0x81;
        frame[16] = 0x86;
        frame[17] = 0xDD;
        Assert.Equal(EthernetParse.Ok, EthernetHeader.TryParse(frame, out EthernetHeader eth));
        Assert.Equal(EtherType.Ipv6, eth.EtherType);
        Assert.Equal(0, eth.Payload.Length);
    }

    [Fact]
    public void Write_produces_a_header_PacketDotNet_reads_back()
    {
        byte[] frame = new byte[60];
        EthernetHeader.Write(frame, MacAddress.Parse("02:00:00:00:00:02"), MacAddress.Parse("02:00:00:00:00:01"), EtherType.Arp);

        var parsed = new EthernetPacket(new PacketDotNet.Utils.ByteArraySegment(frame));
        Assert.Equal(Frames.Mac("02:00:00:00:00:02"), parsed.DestinationHardwareAddress);
        Assert.Equal(Frames.Mac("02:00:00:00:00:01"), parsed.SourceHardwareAddress);
        Assert.Equal(EthernetType.Arp, parsed.Type);
    }

    [Fact]
    public void Swap_addresses_sends_the_frame_back_to_its_sender_from_the_new_source()
    {
        byte[] frame = UdpFrame();
        EthernetHeader.SwapAddresses(frame, MacAddress.Parse("02:00:00:00:99:99"));

        var parsed = Frames.Parse(frame);
        Assert.Equal(Frames.Mac("02:00:0a:f4:01:14"), parsed.DestinationHardwareAddress);
        Assert.Equal(Frames.Mac("02:00:00:00:99:99"), parsed.SourceHardwareAddress);
    }

    [Fact]
    public void Group_bit_marks_broadcast_and_multicast_macs_only()
    {
        Assert.True(MacAddress.Broadcast.IsMulticast);
        Assert.True(MacAddress.Parse("01:00:5e:00:00:01").IsMulticast);
        Assert.True(MacAddress.Parse("33:33:ff:00:00:01").IsMulticast);
        Assert.False(MacAddress.Parse("02:00:00:00:01:01").IsMulticast);
        Assert.False(MacAddress.Parse("fe:ff:ff:ff:ff:ff").IsMulticast);
    }
}
