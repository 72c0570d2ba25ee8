using System.Buffers.Binary;
using System.Net;
using Dataplane.Packets;
using PacketDotNet;
using PacketDotNet.Utils;

namespace Dataplane.Tests.Packets;

/// <summary>
/// Incremental updates (RFC 1624) equal a full recomputation: random fields of random packets are rewritten,
/// the checksums patched with <see cref="ChecksumDelta"/>, and compared with what PacketDotNet computes from
/// scratch over the rewritten bytes.
/// </summary>
[Trait("Category", "unit")]
public sealed class ChecksumDeltaTests
{
    private const int Iterations = 2000;

    [Fact]
    public void Rewriting_ipv4_addresses_ports_and_ttl_incrementally_equals_full_recomputation()
    {
        var random = new Random(1624);
        for (int i = 0; i < Iterations; i++)
        {
            bool tcp = random.Next(2) == 0;
            byte[] frame = RandomIpv4(random, tcp);
            Span<byte> ip = frame.AsSpan(14);
            Span<byte> l4 = ip.Slice(20);
            int l4ChecksumOffset = tcp ? TcpHeader.ChecksumOffset : UdpHeader.ChecksumOffset;

            var ipDelta = default(ChecksumDelta);
            var l4Delta = default(ChecksumDelta);
            int fields = random.Next(1, 32);
            if ((fields & 1) != 0)
            {
                Rewrite32(random, ip.Slice(12), ref ipDelta, ref l4Delta);
            }

            if ((fields & 2) != 0)
            {
                Rewrite32(random, ip.Slice(16), ref ipDelta, ref l4Delta);
            }

            if ((fields & 4) != 0)
            {
                var unused = default(ChecksumDelta);
                Rewrite16(random, l4, ref l4Delta, ref unused);
            }

            if ((fields & 8) != 0)
            {
                var unused = default(ChecksumDelta);
                Rewrite16(random, l4.Slice(2), ref l4Delta, ref unused);
            }

            if ((fields & 16) != 0)
            {
                ushort before = BinaryPrimitives.ReadUInt16BigEndian(ip.Slice(8));
                ip[8] = (byte)random.Next(1, 256);
                ipDelta.Add16(before, BinaryPrimitives.ReadUInt16BigEndian(ip.Slice(8)));
            }

            Patch(ip.Slice(10), ipDelta.Apply);
            Patch(l4.Slice(l4ChecksumOffset), tcp ? l4Delta.Apply : l4Delta.ApplyUdp);

            var recomputed = new EthernetPacket(new ByteArraySegment(frame.ToArray()));
            var ip4 = (IPv4Packet)recomputed.PayloadPacket;
            ip4.UpdateIPChecksum();
            Assert.Equal(ip4.Checksum, BinaryPrimitives.ReadUInt16BigEndian(ip.Slice(10)));
            ushort ours = BinaryPrimitives.ReadUInt16BigEndian(l4.Slice(l4ChecksumOffset));
            ushort full;
            if (tcp)
            {
                var segment = (PacketDotNet.TcpPacket)ip4.PayloadPacket;
                segment.UpdateTcpChecksum();
                full = segment.Checksum;
            }
            else
            {
                var datagram = (PacketDotNet.UdpPacket)ip4.PayloadPacket;
                datagram.UpdateUdpChecksum();
                full = datagram.Checksum;
            }

            AssertSameL4Checksum(full, ours, tcp, i);
            Assert.True(ReferenceChecksum.IsValid(ip.Slice(0, 20)));
        }
    }

    [Fact]
    public void Rewriting_ipv6_addresses_and_ports_incrementally_equals_full_recomputation()
    {
        var random = new Random(8200);
        for (int i = 0; i < Iterations; i++)
        {
            bool tcp = random.Next(2) == 0;
            byte[] frame = RandomIpv6(random, tcp);
            Span<byte> ip = frame.AsSpan(14);
            Span<byte> l4 = ip.Slice(40);
            int l4ChecksumOffset = tcp ? TcpHeader.ChecksumOffset : UdpHeader.ChecksumOffset;

            var delta = default(ChecksumDelta);
            if (random.Next(2) == 0)
            {
                Ip6Address before = Ip6Address.Read(ip.Slice(8));
                var after = new Ip6Address((ulong)random.NextInt64(), (ulong)random.NextInt64());
                after.Write(ip.Slice(8));
                delta.Add(before, after);
            }
            else
            {
                Ip6Address before = Ip6Address.Read(ip.Slice(24));
                var after = new Ip6Address((ulong)random.NextInt64(), (ulong)random.NextInt64());
                after.Write(ip.Slice(24));
                delta.Add(before, after);
            }

            if (random.Next(2) == 0)
            {
                ushort before = BinaryPrimitives.ReadUInt16BigEndian(l4);
                ushort after = (ushort)random.Next(65536);
                BinaryPrimitives.WriteUInt16BigEndian(l4, after);
                var ports = default(ChecksumDelta);
                ports.Add16(before, after);
                delta.Add(in ports);
            }

            Patch(l4.Slice(l4ChecksumOffset), tcp ? delta.Apply : delta.ApplyUdp);

            var recomputed = (IPv6Packet)new EthernetPacket(new ByteArraySegment(frame.ToArray())).PayloadPacket;
            ushort full;
            if (tcp)
            {
                var segment = (PacketDotNet.TcpPacket)recomputed.PayloadPacket;
                segment.UpdateTcpChecksum();
                full = segment.Checksum;
            }
            else
            {
                var datagram = (PacketDotNet.UdpPacket)recomputed.PayloadPacket;
                datagram.UpdateUdpChecksum();
                full = datagram.Checksum;
            }

            AssertSameL4Checksum(full, BinaryPrimitives.ReadUInt16BigEndian(l4.Slice(l4ChecksumOffset)), tcp, i);
        }
    }

    [Fact]
    public void Rfc_1624_example_yields_0000_as_recomputation_does_not_the_ffff_of_eqn_2()
    {
        // RFC 1624 §4: the other header words sum to 0xCD7A; a field goes from 0x5555 to 0x3285.
        const ushort rest = 0xCD7A;
        ushort before = (ushort)~ReferenceChecksum.Fold((ulong)rest + 0x5555);
        Assert.Equal(0xDD2F, before);
        ushort recomputed = (ushort)~ReferenceChecksum.Fold((ulong)rest + 0x3285);
        Assert.Equal(0x0000, recomputed);

        var delta = default(ChecksumDelta);
        delta.Add16(0x5555, 0x3285);

        Assert.Equal(recomputed, delta.Apply(before));
    }

    [Fact]
    public void Header_whose_recomputed_checksum_is_0000_gets_0000_incrementally()
    {
        var random = new Random(3);
        int found = 0;
        for (int i = 0; i < 500; i++)
        {
            byte[] header = new byte[20];
            random.NextBytes(header);
            header[0] = 0x45;
            header[10] = 0;
            header[11] = 0;

            // Choose the identification so the header sums to 0xFFFF: its checksum is then 0x0000 (+0 vs -0).
            header[4] = 0;
            header[5] = 0;
            ushort sumWithoutId = ReferenceChecksum.Fold(ReferenceChecksum.Sum(header));
            ushort id = (ushort)(0xFFFF - sumWithoutId);
            if (id == 0)
            {
                continue;
            }

            ushort oldId = (ushort)random.Next(65536);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), oldId);
            ushort oldChecksum = ReferenceChecksum.Compute(header);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), id);
            Assert.Equal(0x0000, ReferenceChecksum.Compute(header));

            var delta = default(ChecksumDelta);
            delta.Add16(oldId, id);
            Assert.Equal(0x0000, delta.Apply(oldChecksum));
            found++;
        }

        Assert.True(found > 400);
    }

    [Fact]
    public void Udp_zero_checksum_means_none_and_stays_zero()
    {
        var random = new Random(768);
        for (int i = 0; i < 1000; i++)
        {
            var delta = default(ChecksumDelta);
            delta.Add32((uint)random.Next(), (uint)random.Next());
            delta.Add16((ushort)random.Next(65536), (ushort)random.Next(65536));
            Assert.Equal(0, delta.ApplyUdp(0));
        }
    }

    [Fact]
    public void Udp_checksum_that_comes_out_zero_is_sent_as_ffff()
    {
        var delta = default(ChecksumDelta);
        delta.Add16(0x5555, 0x3285);
        Assert.Equal(0x0000, delta.Apply(0xDD2F));
        Assert.Equal(0xFFFF, delta.ApplyUdp(0xDD2F));
    }

    [Fact]
    public void Empty_delta_changes_nothing()
    {
        var delta = default(ChecksumDelta);
        Assert.True(delta.IsEmpty);
        for (int c = 1; c < 0xFFFF; c += 97)
        {
            Assert.Equal((ushort)c, delta.Apply((ushort)c));
        }
    }

    [Fact]
    public void Changing_a_field_to_itself_changes_nothing()
    {
        var random = new Random(5);
        for (int i = 0; i < 1000; i++)
        {
            var delta = default(ChecksumDelta);
            uint value = (uint)random.NextInt64(0, 1L << 32);
            delta.Add32(value, value);
            ushort checksum = (ushort)random.Next(0, 0xFFFF);
            Assert.Equal(checksum, delta.Apply(checksum));
        }
    }

    private static void AssertSameL4Checksum(ushort full, ushort incremental, bool tcp, int iteration)
    {
        // A UDP sum that comes out 0 is sent as 0xFFFF (RFC 768); PacketDotNet may leave it 0.
        if (!tcp && full == 0 && incremental == 0xFFFF)
        {
            return;
        }

        Assert.True(full == incremental, $"iteration {iteration}: full recomputation 0x{full:X4}, incremental 0x{incremental:X4}");
    }

    private static void Rewrite32(Random random, Span<byte> field, ref ChecksumDelta a, ref ChecksumDelta b)
    {
        uint before = BinaryPrimitives.ReadUInt32BigEndian(field);
        uint after = (uint)random.NextInt64(0, 1L << 32);
        BinaryPrimitives.WriteUInt32BigEndian(field, after);
        a.Add32(before, after);
        b.Add32(before, after);
    }

    private static void Rewrite16(Random random, Span<byte> field, ref ChecksumDelta a, ref ChecksumDelta b)
    {
        ushort before = BinaryPrimitives.ReadUInt16BigEndian(field);
        ushort after = (ushort)random.Next(65536);
        BinaryPrimitives.WriteUInt16BigEndian(field, after);
        a.Add16(before, after);
        b.Add16(before, after);
    }

    private static void Patch(Span<byte> field, Func<ushort, ushort> apply)
        => BinaryPrimitives.WriteUInt16BigEndian(field, apply(BinaryPrimitives.ReadUInt16BigEndian(field)));

    private static byte[] RandomPayload(Random random)
    {
        byte[] payload = new byte[random.Next(0, 600)];
        random.NextBytes(payload);
        return payload;
    }

    private static TransportPacket RandomL4(Random random, bool tcp) => tcp
        ? new PacketDotNet.TcpPacket((ushort)random.Next(65536), (ushort)random.Next(65536))
        {
            SequenceNumber = (uint)random.NextInt64(0, 1L << 32), WindowSize = (ushort)random.Next(65536), Acknowledgment = true, PayloadData = RandomPayload(random),
        }
        : new PacketDotNet.UdpPacket((ushort)random.Next(65536), (ushort)random.Next(65536)) { PayloadData = RandomPayload(random) };

    private static void UpdateL4(TransportPacket l4)
    {
        if (l4 is PacketDotNet.TcpPacket tcp)
        {
            tcp.UpdateTcpChecksum();
        }
        else
        {
            ((PacketDotNet.UdpPacket)l4).UpdateUdpChecksum();
        }
    }

    private static byte[] RandomIpv4(Random random, bool tcp)
    {
        TransportPacket l4 = RandomL4(random, tcp);
        var ip = new IPv4Packet(new IPAddress(random.NextInt64(1, 1L << 32)), new IPAddress(random.NextInt64(1, 1L << 32)))
        {
            TimeToLive = random.Next(1, 256), Id = (ushort)random.Next(65536), PayloadPacket = l4,
        };
        UpdateL4(l4);
        ip.UpdateIPChecksum();
        return new EthernetPacket(Pipeline.Frames.Mac("02:00:00:00:00:01"), Pipeline.Frames.Mac("02:00:00:00:00:02"), EthernetType.IPv4) { PayloadPacket = ip }.Bytes;
    }

    private static byte[] RandomIpv6(Random random, bool tcp)
    {
        TransportPacket l4 = RandomL4(random, tcp);
        byte[] a = new byte[16];
        byte[] b = new byte[16];
        random.NextBytes(a);
        random.NextBytes(b);
        var ip = new IPv6Packet(new IPAddress(a), new IPAddress(b)) { HopLimit = 64, PayloadPacket = l4 };
        UpdateL4(l4);
        return new EthernetPacket(Pipeline.Frames.Mac("02:00:00:00:00:01"), Pipeline.Frames.Mac("02:00:00:00:00:02"), EthernetType.IPv6) { PayloadPacket = ip }.Bytes;
    }
}
