using Dataplane.Io.Tap;
using Dataplane.Pipeline;

namespace Dataplane.Tests.Io;

[Trait("Category", "unit")]
public class VirtioNetHeaderTests
{
    public static TheoryData<byte, byte, PacketFlags> Headers => new()
    {
        { 0, VirtioNetHeader.GsoNone, PacketFlags.None },
        { VirtioNetHeader.FlagDataValid, VirtioNetHeader.GsoNone, PacketFlags.None },
        { VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoNone, PacketFlags.ChecksumPartial | PacketFlags.Offloaded },
        { VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoTcpV4, PacketFlags.ChecksumPartial | PacketFlags.Offloaded },
        { VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoTcpV6, PacketFlags.ChecksumPartial | PacketFlags.Offloaded },
        { VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoTcpV4 | VirtioNetHeader.GsoEcn, PacketFlags.ChecksumPartial | PacketFlags.Offloaded },
        { VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoUdpL4, PacketFlags.ChecksumPartial | PacketFlags.Offloaded },
        { 0, VirtioNetHeader.GsoTcpV4, PacketFlags.Offloaded },
        { 0, VirtioNetHeader.GsoUdp, PacketFlags.Offloaded },
        // ECN modifies a TCP GSO type; alone it is no GSO (the kernel rejects it on write), so nothing to keep.
        { 0, VirtioNetHeader.GsoEcn, PacketFlags.None },
        { VirtioNetHeader.FlagNeedsCsum, VirtioNetHeader.GsoEcn, PacketFlags.ChecksumPartial | PacketFlags.Offloaded },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void Received_header_sets_the_offload_flags(byte flags, byte gsoType, PacketFlags expected)
    {
        byte[] wire = [flags, gsoType, 54, 0, 0xA8, 0x05, 34, 0, 16, 0];

        Assert.True(VirtioNetHeader.TryRead(wire, VirtioNetHeader.LegacySize, out VirtioNetHeader header));
        Assert.Equal(flags, header.Flags);
        Assert.Equal(gsoType, header.GsoType);
        Assert.Equal((flags & VirtioNetHeader.FlagNeedsCsum) != 0, header.NeedsChecksum);
        Assert.Equal(expected, header.ToPacketFlags());
        Assert.Equal(expected, VirtioNetHeader.ReadPacketFlags(wire));
    }

    [Fact]
    public void Gso_types_are_gso_with_or_without_ecn_and_ecn_alone_is_not()
    {
        foreach (byte type in new[] { VirtioNetHeader.GsoTcpV4, VirtioNetHeader.GsoUdp, VirtioNetHeader.GsoTcpV6, VirtioNetHeader.GsoUdpL4 })
        {
            Assert.True(new VirtioNetHeader { GsoType = type }.IsGso);
            Assert.True(new VirtioNetHeader { GsoType = (byte)(type | VirtioNetHeader.GsoEcn) }.IsGso);
        }

        Assert.False(new VirtioNetHeader { GsoType = VirtioNetHeader.GsoNone }.IsGso);
        Assert.False(new VirtioNetHeader { GsoType = VirtioNetHeader.GsoEcn }.IsGso);
    }

    [Fact]
    public void Read_packet_flags_agrees_with_the_full_parse_for_every_flags_and_gso_byte()
    {
        byte[] wire = new byte[VirtioNetHeader.LegacySize];
        for (int flags = 0; flags < 8; flags++)
        {
            for (int gso = 0; gso < 256; gso++)
            {
                wire[0] = (byte)flags;
                wire[1] = (byte)gso;
                Assert.True(VirtioNetHeader.TryRead(wire, VirtioNetHeader.LegacySize, out VirtioNetHeader header));
                Assert.Equal(header.ToPacketFlags(), VirtioNetHeader.ReadPacketFlags(wire));
            }
        }
    }

    [Theory]
    [InlineData(VirtioNetHeader.LegacySize)]
    [InlineData(VirtioNetHeader.Size)]
    public void Write_none_leaves_the_all_zero_no_offload_header(int size)
    {
        byte[] slot = [.. Enumerable.Repeat((byte)0xEE, size)];
        byte[] expected = new byte[size];
        Assert.True(VirtioNetHeader.None.TryWrite(expected, size));

        VirtioNetHeader.WriteNone(slot);

        Assert.Equal(expected, slot);
        Assert.True(VirtioNetHeader.TryRead(slot, size, out VirtioNetHeader back));
        Assert.Equal(VirtioNetHeader.None, back);
        Assert.Equal(PacketFlags.None, back.ToPacketFlags());
    }
}
