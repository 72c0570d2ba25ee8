using System.Net;
using Dataplane.Packets;
using PacketDotNet.Utils;

namespace Dataplane.Tests.Packets;

/// <summary>
/// The vectorized checksum against PacketDotNet's (<see cref="ChecksumUtils"/>) on random data: every length
/// up to past the 64-byte vector threshold, odd lengths, the 4 KiB fold boundaries and the 64 KiB maximum.
/// </summary>
[Trait("Category", "unit")]
public sealed class InternetChecksumTests
{
    public static TheoryData<int> Lengths()
    {
        var lengths = new SortedSet<int>();
        for (int i = 0; i <= 200; i++)
        {
            lengths.Add(i);
        }

        foreach (int boundary in new[] { 1024, 4096, 4096 + 32, 4096 + 64, 8192, 8192 + 32, 12288, 16384, 32768, 65535 - 32 })
        {
            for (int d = -3; d <= 3; d++)
            {
                lengths.Add(boundary + d);
            }
        }

        lengths.Add(65534);
        lengths.Add(65535);
        var random = new Random(1071);
        for (int i = 0; i < 40; i++)
        {
            lengths.Add(random.Next(201, 65536));
        }

        return new TheoryData<int>(lengths);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Checksum_of_random_data_equals_PacketDotNets(int length)
    {
        var random = new Random(length);
        byte[] data = new byte[length + 1];
        random.NextBytes(data);

        // Aligned and one byte off alignment: the vector loads are unaligned.
        foreach (int start in new[] { 0, 1 })
        {
            byte[] slice = data.AsSpan(start, length).ToArray();
            ushort expected = (ushort)ChecksumUtils.OnesComplementSum(slice, 0, length);
            Assert.Equal(expected, InternetChecksum.Compute(data.AsSpan(start, length)));
            Assert.Equal(ReferenceChecksum.Compute(slice), InternetChecksum.Compute(slice));
        }
    }

    [Theory]
    [InlineData(64)]
    [InlineData(4096 + 31)]
    [InlineData(4096 + 32)]
    [InlineData(65535)]
    public void All_ones_data_does_not_overflow_the_vector_lanes(int length)
    {
        byte[] data = new byte[length];
        Array.Fill(data, (byte)0xFF);
        Assert.Equal((ushort)ChecksumUtils.OnesComplementSum(data, 0, length), InternetChecksum.Compute(data));
        Assert.Equal(ReferenceChecksum.Compute(data), InternetChecksum.Compute(data));
    }

    [Fact]
    public void Empty_data_sums_to_zero_and_checksums_to_ffff()
    {
        Assert.Equal(0ul, InternetChecksum.Sum([]));
        Assert.Equal(0xFFFF, InternetChecksum.Compute([]));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(20)]
    [InlineData(1479)]
    [InlineData(9000)]
    public void Data_with_its_checksum_inserted_verifies(int length)
    {
        var random = new Random(length * 7);
        byte[] data = new byte[length];
        random.NextBytes(data);
        data[0] = 0;
        data[1] = 0;
        ushort checksum = InternetChecksum.Compute(data);
        data[0] = (byte)(checksum >> 8);
        data[1] = (byte)checksum;

        Assert.True(InternetChecksum.IsValid(data));
        data[^1] ^= 0x40;
        Assert.False(InternetChecksum.IsValid(data));
    }

    [Fact]
    public void Sums_of_even_length_parts_add_up_to_the_sum_of_the_whole()
    {
        var random = new Random(2);
        byte[] data = new byte[3001];
        random.NextBytes(data);
        for (int split = 0; split < data.Length; split += 2)
        {
            ulong parts = InternetChecksum.Sum(data.AsSpan(split), InternetChecksum.Sum(data.AsSpan(0, split)));
            Assert.Equal(InternetChecksum.Fold(InternetChecksum.Sum(data)), InternetChecksum.Fold(parts));
        }
    }

    [Fact]
    public void Ipv4_pseudo_header_plus_segment_checks_a_udp_checksum_PacketDotNet_computed()
    {
        var random = new Random(768);
        for (int i = 0; i < 200; i++)
        {
            var source = new IPAddress(random.NextInt64(0x0100_0000, 0xE000_0000));
            var destination = new IPAddress(random.NextInt64(0x0100_0000, 0xE000_0000));
            byte[] payload = new byte[random.Next(0, 1400)];
            random.NextBytes(payload);
            var udp = new PacketDotNet.UdpPacket((ushort)random.Next(65536), (ushort)random.Next(65536)) { PayloadData = payload };
            _ = new PacketDotNet.IPv4Packet(source, destination) { PayloadPacket = udp };
            udp.UpdateUdpChecksum();
            byte[] segment = udp.Bytes;

            ulong pseudo = InternetChecksum.PseudoHeaderSum(Ip4Address.FromIPAddress(source), Ip4Address.FromIPAddress(destination), IpProtocol.Udp, segment.Length);
            Assert.Equal(ReferenceChecksum.Fold(ReferenceChecksum.PseudoHeader(source, destination, IpProtocol.Udp, segment.Length)), InternetChecksum.Fold(pseudo));
            Assert.True(InternetChecksum.IsValid(segment, pseudo));
        }
    }
}
