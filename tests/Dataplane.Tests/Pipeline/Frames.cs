using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;

namespace Dataplane.Tests.Pipeline;

/// <summary>Test frames built with PacketDotNet (never used by the dataplane itself), checksums valid unless asked otherwise.</summary>
internal static class Frames
{
    public static PhysicalAddress Mac(string mac) => PhysicalAddress.Parse(mac.Replace(':', '-').ToUpperInvariant());

    public static IPAddress Ip(string ip) => IPAddress.Parse(ip);

    public static EthernetPacket Ethernet(string srcMac, string dstMac, Packet payload, EthernetType type)
        => new(Mac(srcMac), Mac(dstMac), type) { PayloadPacket = payload };

    public static byte[] Icmp4Echo(string srcMac, string dstMac, string src, string dst, ushort id = 7, ushort seq = 1, byte ttl = 64, bool reply = false, int payload = 16)
    {
        byte[] icmpBytes = new byte[8 + payload];
        icmpBytes[0] = reply ? (byte)0 : (byte)8;
        icmpBytes[4] = (byte)(id >> 8);
        icmpBytes[5] = (byte)id;
        icmpBytes[6] = (byte)(seq >> 8);
        icmpBytes[7] = (byte)seq;
        for (int i = 8; i < icmpBytes.Length; i++)
        {
            icmpBytes[i] = (byte)i;
        }

        var icmp = new IcmpV4Packet(new PacketDotNet.Utils.ByteArraySegment(icmpBytes));
        icmp.UpdateIcmpChecksum();
        var ip = new IPv4Packet(Ip(src), Ip(dst)) { TimeToLive = ttl, PayloadPacket = icmp, Protocol = PacketDotNet.ProtocolType.Icmp };
        ip.UpdateIPChecksum();
        return Ethernet(srcMac, dstMac, ip, EthernetType.IPv4).Bytes;
    }

    public static byte[] Udp4(string srcMac, string dstMac, string src, string dst, ushort sport, ushort dport, byte[]? data = null, byte ttl = 64)
    {
        var udp = new UdpPacket(sport, dport) { PayloadData = data ?? [1, 2, 3, 4] };
        var ip = new IPv4Packet(Ip(src), Ip(dst)) { TimeToLive = ttl, PayloadPacket = udp };
        udp.UpdateUdpChecksum();
        ip.UpdateIPChecksum();
        return Ethernet(srcMac, dstMac, ip, EthernetType.IPv4).Bytes;
    }

    public static byte[] Tcp4(string srcMac, string dstMac, string src, string dst, ushort sport, ushort dport,
        bool syn = false, bool ack = false, bool fin = false, bool rst = false, uint seq = 1000, uint ackNumber = 0, byte[]? data = null, byte ttl = 64, bool dontFragment = true)
    {
        var tcp = new TcpPacket(sport, dport)
        {
            Synchronize = syn, Acknowledgment = ack, Finished = fin, Reset = rst,
            SequenceNumber = seq, AcknowledgmentNumber = ackNumber, WindowSize = 64240, PayloadData = data ?? [],
        };
        var ip = new IPv4Packet(Ip(src), Ip(dst)) { TimeToLive = ttl, PayloadPacket = tcp };
        if (dontFragment)
        {
            ip.FragmentFlags = 0x2;
        }

        tcp.UpdateTcpChecksum();
        ip.UpdateIPChecksum();
        return Ethernet(srcMac, dstMac, ip, EthernetType.IPv4).Bytes;
    }

    public static byte[] Udp6(string srcMac, string dstMac, string src, string dst, ushort sport, ushort dport, byte[]? data = null, byte hopLimit = 64)
    {
        var udp = new UdpPacket(sport, dport) { PayloadData = data ?? [1, 2, 3, 4] };
        var ip = new IPv6Packet(Ip(src), Ip(dst)) { HopLimit = hopLimit, PayloadPacket = udp };
        udp.UpdateUdpChecksum();
        return Ethernet(srcMac, dstMac, ip, EthernetType.IPv6).Bytes;
    }

    public static byte[] Tcp6(string srcMac, string dstMac, string src, string dst, ushort sport, ushort dport,
        bool syn = false, bool ack = false, bool fin = false, bool rst = false, uint seq = 1000, uint ackNumber = 0, byte[]? data = null)
    {
        var tcp = new TcpPacket(sport, dport)
        {
            Synchronize = syn, Acknowledgment = ack, Finished = fin, Reset = rst,
            SequenceNumber = seq, AcknowledgmentNumber = ackNumber, WindowSize = 64240, PayloadData = data ?? [],
        };
        var ip = new IPv6Packet(Ip(src), Ip(dst)) { HopLimit = 64, PayloadPacket = tcp };
        tcp.UpdateTcpChecksum();
        return Ethernet(srcMac, dstMac, ip, EthernetType.IPv6).Bytes;
    }

    public static byte[] Icmp6Echo(string srcMac, string dstMac, string src, string dst, ushort id = 7, ushort seq = 1, byte hopLimit = 64)
    {
        byte[] body = new byte[8 + 16];
        body[0] = 128;
        body[4] = (byte)(id >> 8);
        body[5] = (byte)id;
        body[6] = (byte)(seq >> 8);
        body[7] = (byte)seq;
        // PacketDotNet leaves the ICMPv6 checksum 0 here (it skips the pseudo-header); Build.Icmp6 computes it.
        return Build.Icmp6(srcMac, dstMac, src, dst, hopLimit, body);
    }

    public static byte[] ArpRequest(string srcMac, string senderIp, string targetIp, string? dstMac = null)
    {
        var arp = new ArpPacket(ArpOperation.Request, PhysicalAddress.Parse("00-00-00-00-00-00"), Ip(targetIp), Mac(srcMac), Ip(senderIp));
        return Ethernet(srcMac, dstMac ?? "ff:ff:ff:ff:ff:ff", arp, EthernetType.Arp).Bytes;
    }

    public static byte[] ArpReply(string srcMac, string senderIp, string dstMac, string targetIp)
    {
        var arp = new ArpPacket(ArpOperation.Response, Mac(dstMac), Ip(targetIp), Mac(srcMac), Ip(senderIp));
        return Ethernet(srcMac, dstMac, arp, EthernetType.Arp).Bytes;
    }

    /// <summary>Parses a frame the dataplane sent, to assert on fields and checksums.</summary>
    public static EthernetPacket Parse(byte[] frame) => new(new PacketDotNet.Utils.ByteArraySegment(frame));
}
