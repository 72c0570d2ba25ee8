using System.Buffers.Binary;
using System.Net;
using Dataplane.Tests.Packets;
using PacketDotNet;
using PacketDotNet.Utils;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// More frame builders (beyond <see cref="Frames"/>), for inputs the common ones do not cover and for the
/// frames a test expects the dataplane to send: built from the RFC layouts with PacketDotNet, never by the
/// code under test.
/// </summary>
internal static class Build
{
    public static byte[] Raw(string srcMac, string dstMac, ushort etherType, ReadOnlySpan<byte> payload)
    {
        byte[] frame = new byte[14 + payload.Length];
        Frames.Mac(dstMac).GetAddressBytes().CopyTo(frame, 0);
        Frames.Mac(srcMac).GetAddressBytes().CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), etherType);
        payload.CopyTo(frame.AsSpan(14));
        return frame;
    }

    /// <summary>The IPv4 datagram or IPv6 packet of a frame, without Ethernet header or padding.</summary>
    public static byte[] L3(byte[] frame)
    {
        int length = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == 0x86DD
            ? 40 + BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(18))
            : BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(16));
        return frame[14..(14 + length)];
    }

    /// <summary>An ICMPv4 error (RFC 792): type, code, the second word, and the quoted start of the offending datagram.</summary>
    public static byte[] Icmp4Error(string srcMac, string dstMac, string src, string dst, byte type, byte code, byte[] quoted, uint rest = 0, byte ttl = 64)
    {
        byte[] message = new byte[8 + quoted.Length];
        message[0] = type;
        message[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), rest);
        quoted.CopyTo(message, 8);
        var icmp = new IcmpV4Packet(new ByteArraySegment(message));
        var ip = new IPv4Packet(Frames.Ip(src), Frames.Ip(dst)) { TimeToLive = ttl, Protocol = PacketDotNet.ProtocolType.Icmp, PayloadPacket = icmp };
        icmp.UpdateIcmpChecksum();
        ip.UpdateIPChecksum();
        return Frames.Ethernet(srcMac, dstMac, ip, EthernetType.IPv4).Bytes;
    }

    /// <summary>
    /// An ICMPv6 message with its checksum over the pseudo-header (RFC 4443 §2.3), in an IPv6 header laid out
    /// by hand: PacketDotNet re-serializes Neighbor Discovery messages with a shifted body, and its ICMPv6
    /// checksum leaves out the pseudo-header, so the reference implementation computes the sum.
    /// </summary>
    public static byte[] Icmp6(string srcMac, string dstMac, string src, string dst, byte hopLimit, byte[] message)
    {
        message[2] = 0;
        message[3] = 0;
        ushort checksum = ReferenceChecksum.Compute(message, ReferenceChecksum.PseudoHeader(Frames.Ip(src), Frames.Ip(dst), 58, message.Length));
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), checksum);
        return Raw(srcMac, dstMac, 0x86DD, Ipv6Packet(src, dst, 58, hopLimit, message));
    }

    /// <summary>A fixed IPv6 header (traffic class and flow label 0) and its payload.</summary>
    public static byte[] Ipv6Packet(string src, string dst, byte nextHeader, byte hopLimit, byte[] payload)
    {
        byte[] packet = new byte[40 + payload.Length];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)payload.Length);
        packet[6] = nextHeader;
        packet[7] = hopLimit;
        Frames.Ip(src).GetAddressBytes().CopyTo(packet, 8);
        Frames.Ip(dst).GetAddressBytes().CopyTo(packet, 24);
        payload.CopyTo(packet, 40);
        return packet;
    }

    public static byte[] Icmp6Error(string srcMac, string dstMac, string src, string dst, byte type, byte code, byte[] quoted, uint rest = 0, byte hopLimit = 64)
    {
        byte[] message = new byte[8 + quoted.Length];
        message[0] = type;
        message[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), rest);
        quoted.CopyTo(message, 8);
        return Icmp6(srcMac, dstMac, src, dst, hopLimit, message);
    }

    public static byte[] Icmp6Echo(string srcMac, string dstMac, string src, string dst, bool reply = false, ushort id = 7, ushort seq = 1, byte hopLimit = 64, int payload = 16)
    {
        byte[] message = new byte[8 + payload];
        message[0] = reply ? (byte)129 : (byte)128;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), seq);
        for (int i = 8; i < message.Length; i++)
        {
            message[i] = (byte)(i * 3);
        }

        return Icmp6(srcMac, dstMac, src, dst, hopLimit, message);
    }

    /// <summary>Neighbor Solicitation (RFC 4861 §4.3), with a source link-layer address option unless from ::.</summary>
    public static byte[] NeighborSolicitation(string srcMac, string dstMac, string src, string dst, string target, byte hopLimit = 255, bool option = true)
    {
        byte[] message = new byte[option ? 32 : 24];
        message[0] = 135;
        Frames.Ip(target).GetAddressBytes().CopyTo(message, 8);
        if (option)
        {
            message[24] = 1;
            message[25] = 1;
            Frames.Mac(srcMac).GetAddressBytes().CopyTo(message, 26);
        }

        return Icmp6(srcMac, dstMac, src, dst, hopLimit, message);
    }

    /// <summary>Neighbor Advertisement (RFC 4861 §4.4) with a target link-layer address option.</summary>
    public static byte[] NeighborAdvertisement(string srcMac, string dstMac, string src, string dst, string target, bool router, bool solicited, bool @override, string targetMac)
    {
        byte[] message = new byte[32];
        message[0] = 136;
        message[4] = (byte)((router ? 0x80 : 0) | (solicited ? 0x40 : 0) | (@override ? 0x20 : 0));
        Frames.Ip(target).GetAddressBytes().CopyTo(message, 8);
        message[24] = 2;
        message[25] = 1;
        Frames.Mac(targetMac).GetAddressBytes().CopyTo(message, 26);
        return Icmp6(srcMac, dstMac, src, dst, 255, message);
    }

    /// <summary>Router Advertisement (RFC 4861 §4.2): hop limit 64, router lifetime 1800 s, no options.</summary>
    public static byte[] RouterAdvertisement(string srcMac, string src)
    {
        byte[] message = new byte[16];
        message[0] = 134;
        message[4] = 64;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(6), 1800);
        return Icmp6(srcMac, "33:33:00:00:00:01", src, "ff02::1", 255, message);
    }

    public static byte[] RouterSolicitation(string srcMac, string src)
    {
        byte[] message = new byte[8];
        message[0] = 133;
        return Icmp6(srcMac, "33:33:00:00:00:02", src, "ff02::2", 255, message);
    }

    /// <summary>
    /// An IPv4 fragment carrying raw <paramref name="payload"/> (for a first fragment, the start of the L4
    /// datagram; for a later one, anything).
    /// </summary>
    public static byte[] Ipv4Fragment(string srcMac, string dstMac, string src, string dst, byte protocol, ushort id, bool more, int offsetUnits, byte[] payload, byte ttl = 64)
    {
        var ip = new IPv4Packet(Frames.Ip(src), Frames.Ip(dst))
        {
            TimeToLive = ttl, Protocol = (PacketDotNet.ProtocolType)protocol, Id = id, FragmentFlags = more ? 0b001 : 0, FragmentOffset = offsetUnits,
            PayloadData = payload,
        };

        // PacketDotNet fixes Total Length only when it serializes, after UpdateIPChecksum has summed the old one.
        return PatchIpv4(Frames.Ethernet(srcMac, dstMac, ip, EthernetType.IPv4).Bytes, 0);
    }

    /// <summary>An unfragmented IPv4 datagram with a raw payload (any protocol, any bytes).</summary>
    public static byte[] Ipv4(string srcMac, string dstMac, string src, string dst, byte protocol, byte[] payload, byte ttl = 64, bool dontFragment = false)
    {
        byte[] frame = Ipv4Fragment(srcMac, dstMac, src, dst, protocol, 0, more: false, 0, payload, ttl);
        return dontFragment ? PatchIpv4(frame, 6, 0x40, 0x00) : frame;
    }

    /// <summary>An ICMPv4 message (type, code, second word, body) with its checksum.</summary>
    public static byte[] IcmpMessage(byte type, byte code, uint rest, byte[] body)
    {
        byte[] message = new byte[8 + body.Length];
        message[0] = type;
        message[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), rest);
        body.CopyTo(message, 8);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), ReferenceChecksum.Compute(message));
        return message;
    }

    /// <summary>The frame with IPv4 options after the 20-byte header (IHL, total length and header checksum fixed).</summary>
    public static byte[] WithIpv4Options(byte[] frame, byte[] options) => [.. frame[..14], .. Ipv4HeaderTests.WithOptions(L3(frame), options)];

    /// <summary>
    /// The frame with an IPv6 extension header of <paramref name="type"/> inserted before the upper-layer header.
    /// The L4 checksum stays right: the pseudo-header covers the upper-layer length, not the extensions.
    /// </summary>
    public static byte[] WithIpv6Extension(byte[] frame, byte type, byte[] extension)
    {
        byte[] packet = L3(frame);
        extension[0] = packet[6];
        packet[6] = type;
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(4)) + extension.Length;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)payloadLength);
        return [.. frame[..14], .. packet[..40], .. extension, .. packet[40..]];
    }

    /// <summary>An IPv6 packet whose payload follows a Fragment header (RFC 8200 §4.5).</summary>
    public static byte[] Ipv6Fragment(string srcMac, string dstMac, string src, string dst, byte protocol, int offsetUnits, bool more, byte[] payload, byte hopLimit = 64)
        => Raw(srcMac, dstMac, 0x86DD, Ipv6Packet(src, dst, 44, hopLimit, [.. Ipv6HeaderTests.Fragment(protocol, offsetUnits, more), .. payload]));

    /// <summary>Sets bytes of an IPv4 frame's header and recomputes its header checksum (for lying-field cases that must pass the checksum).</summary>
    public static byte[] PatchIpv4(byte[] frame, int offset, params byte[] bytes)
    {
        byte[] copy = frame.ToArray();
        bytes.CopyTo(copy, 14 + offset);
        int headerLength = Math.Min((copy[14] & 0x0F) * 4, copy.Length - 14);
        copy[24] = 0;
        copy[25] = 0;
        if (headerLength >= 20)
        {
            BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(24), ReferenceChecksum.Compute(copy.AsSpan(14, headerLength)));
        }

        return copy;
    }

    public static byte[] Patch(byte[] frame, int offset, params byte[] bytes)
    {
        byte[] copy = frame.ToArray();
        bytes.CopyTo(copy, offset);
        return copy;
    }

    public static byte[] Pad(byte[] frame, int length) => [.. frame, .. new byte[Math.Max(0, length - frame.Length)]];

    public static IPAddress Ip(string ip) => IPAddress.Parse(ip);
}
