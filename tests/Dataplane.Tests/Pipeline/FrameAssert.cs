using System.Buffers.Binary;
using System.Net;
using Dataplane.Tests.Packets;
using PacketDotNet;
using PacketDotNet.Utils;

namespace Dataplane.Tests.Pipeline;

/// <summary>Assertions on frames the dataplane sent.</summary>
internal static class FrameAssert
{
    /// <summary>Exact bytes, shown as hex so a failure points at the differing field.</summary>
    public static void SameBytes(byte[] expected, byte[] actual, string? what = null)
    {
        Assert.True(
            expected.AsSpan().SequenceEqual(actual),
            $"{what ?? "frame"} differs{Environment.NewLine}expected {Convert.ToHexString(expected)}{Environment.NewLine}actual   {Convert.ToHexString(actual)}"
            + $"{Environment.NewLine}first difference at byte {FirstDifference(expected, actual)}");
    }

    /// <summary>
    /// Every checksum in the frame is right: the IPv4 header checksum, the TCP/UDP/ICMP/ICMPv6 checksum, and for
    /// an ICMP error the quoted datagram's IPv4 header checksum and, when the whole datagram is quoted, its L4
    /// checksum too. Checked with PacketDotNet and, for ICMPv6 (whose PacketDotNet validation skips the
    /// pseudo-header), with <see cref="ReferenceChecksum"/>. Fragments' L4 checksums cover the reassembled
    /// datagram and are not checked. ARP has no checksum.
    /// </summary>
    public static void ChecksumsValid(byte[] frame)
    {
        Assert.True(frame.Length >= 14, "frame shorter than an Ethernet header");
        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12));
        switch (etherType)
        {
            case 0x0806:
                return;
            case 0x0800:
                var eth = new EthernetPacket(new ByteArraySegment(frame));
                Assert.IsType<IPv4Packet>(eth.PayloadPacket);
                Ipv4(frame[14..], quoted: false);
                return;
            case 0x86DD:
                Ipv6(frame[14..]);
                return;
            default:
                Assert.Fail($"output frame with EtherType 0x{etherType:X4}");
                return;
        }
    }

    private static void Ipv4(byte[] datagram, bool quoted)
    {
        Assert.Equal(4, datagram[0] >> 4);
        int headerLength = (datagram[0] & 0x0F) * 4;
        Assert.True(headerLength >= 20 && datagram.Length >= headerLength, "IPv4 header cut short");
        Assert.True(ReferenceChecksum.IsValid(datagram.AsSpan(0, headerLength)), $"{(quoted ? "quoted " : "")}IPv4 header checksum is wrong");
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan(2));
        if (datagram.Length < totalLength)
        {
            Assert.True(quoted, "IPv4 total length beyond the frame");
            return; // an ICMP error quotes only the start of a long datagram
        }

        datagram = datagram[..totalLength];
        var ip = new IPv4Packet(new ByteArraySegment(datagram));
        Assert.True(ip.ValidIPChecksum, "PacketDotNet: IPv4 header checksum is wrong");
        bool fragment = (ip.FragmentFlags & 0b001) != 0 || ip.FragmentOffset != 0;
        if (fragment)
        {
            return;
        }

        byte[] l4 = datagram[headerLength..];
        ulong pseudo = ReferenceChecksum.PseudoHeader(ip.SourceAddress, ip.DestinationAddress, datagram[9], l4.Length);
        switch (datagram[9])
        {
            case 6:
                Assert.True(((TcpPacket)ip.PayloadPacket).ValidTcpChecksum, "PacketDotNet: TCP checksum is wrong");
                Assert.True(ReferenceChecksum.IsValid(l4, pseudo), "TCP checksum is wrong");
                break;
            case 17:
                var udp = (UdpPacket)ip.PayloadPacket;
                if (udp.Checksum != 0)
                {
                    Assert.True(udp.ValidUdpChecksum, "PacketDotNet: UDP checksum is wrong");
                    Assert.True(ReferenceChecksum.IsValid(l4, pseudo), "UDP checksum is wrong");
                }

                break;
            case 1:
                Assert.True(((IcmpV4Packet)ip.PayloadPacket).ValidIcmpChecksum, "PacketDotNet: ICMP checksum is wrong");
                Assert.True(ReferenceChecksum.IsValid(l4), "ICMP checksum is wrong");
                if (l4[0] is 3 or 4 or 5 or 11 or 12)
                {
                    Assert.True(l4.Length >= 8 + 20 + 8, "ICMP error quotes less than the IP header and 8 bytes");
                    Ipv4(l4[8..], quoted: true);
                }

                break;
        }
    }

    private static void Ipv6(byte[] packet)
    {
        Assert.Equal(6, packet[0] >> 4);
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(4));
        if (packet.Length < 40 + payloadLength)
        {
            return; // quoted and cut short
        }

        packet = packet[..(40 + payloadLength)];
        var source = new IPAddress(packet.AsSpan(8, 16));
        var destination = new IPAddress(packet.AsSpan(24, 16));
        byte next = packet[6];
        int offset = 40;
        while (next is 0 or 43 or 60 or 44)
        {
            if (next == 44)
            {
                if ((BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(offset + 2)) & 0xFFF9) != 0)
                {
                    return; // a fragment: the L4 checksum covers the reassembled packet
                }

                next = packet[offset];
                offset += 8;
                continue;
            }

            next = packet[offset];
            offset += (packet[offset + 1] + 1) * 8;
        }

        byte[] l4 = packet[offset..];
        ulong pseudo = ReferenceChecksum.PseudoHeader(source, destination, next, l4.Length);
        switch (next)
        {
            case 6:
            case 17:
                Assert.True(ReferenceChecksum.IsValid(l4, pseudo), $"{(next == 6 ? "TCP" : "UDP")} checksum over IPv6 is wrong");
                if (offset == 40)
                {
                    var ip = new IPv6Packet(new ByteArraySegment(packet));
                    Assert.True(next == 6 ? ((TcpPacket)ip.PayloadPacket).ValidTcpChecksum : ((UdpPacket)ip.PayloadPacket).ValidUdpChecksum, "PacketDotNet: L4 checksum over IPv6 is wrong");
                }

                break;
            case 58:
                Assert.True(ReferenceChecksum.IsValid(l4, pseudo), "ICMPv6 checksum is wrong");
                if (offset == 40)
                {
                    var icmp = (IcmpV6Packet)new IPv6Packet(new ByteArraySegment(packet)).PayloadPacket;
                    Assert.True(icmp.CalculateIcmpChecksum() == icmp.Checksum, "PacketDotNet: ICMPv6 checksum is wrong");
                }

                if (l4[0] < 128)
                {
                    Assert.True(l4.Length >= 8 + 40, "ICMPv6 error quotes less than the IPv6 header");
                    Ipv6(l4[8..]);
                }

                break;
        }
    }

    private static int FirstDifference(byte[] a, byte[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }

        return n;
    }
}
