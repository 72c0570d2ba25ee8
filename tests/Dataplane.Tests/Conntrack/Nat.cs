using System.Buffers.Binary;
using System.Net;
using Dataplane.Config;
using Dataplane.Conntrack;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;
using Dataplane.Tests.Pipeline;
using PacketDotNet;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// What the service/conntrack tests share: node configs with one service shape each, frame builders for the
/// fields <see cref="Frames"/> does not offer (TTL on IPv6, PSH, zero UDP checksum, ICMP errors), and the exact
/// output assertion with an independent checksum check of every output frame.
/// </summary>
internal static class Nat
{
    public const long Second = 1_000_000_000L;
    public const long T0 = PipelineHarness.T0;
    public const string Web2Ip6 = "fd00:10:244:1::12";
    public const string NodeBIp6 = "fd00:77::11";

    /// <summary>web with the local pod web-1 as its only endpoint (v4 and v6), TCP 80-&gt;8080 and UDP 53-&gt;5353.</summary>
    public const string LocalWeb = """
          - name: web
            clusterIPs: [10.96.0.10, fd00:96::10]
            ports:
              - { name: http, protocol: TCP, port: 80, targetPort: 8080 }
              - { name: dns, protocol: UDP, port: 53, targetPort: 5353 }
            endpoints:
              - { ip: 10.244.1.11 }
              - { ip: fd00:10:244:1::11 }
        """;

    /// <summary>web with the pod on node-b as its only endpoint (v4 and v6), reached through the uplink.</summary>
    public const string RemoteWeb = """
          - name: web
            clusterIPs: [10.96.0.10, fd00:96::10]
            ports:
              - { name: http, protocol: TCP, port: 80, targetPort: 8080 }
              - { name: dns, protocol: UDP, port: 53, targetPort: 5353 }
            endpoints:
              - { ip: 10.244.2.12 }
              - { ip: fd00:10:244:2::12 }
        """;

    /// <summary>web with one local and one remote IPv4 endpoint (Maglev picks by flow hash).</summary>
    public const string TwoWeb = """
          - name: web
            clusterIP: 10.96.0.10
            ports:
              - { name: http, protocol: TCP, port: 80, targetPort: 8080 }
              - { name: dns, protocol: UDP, port: 53, targetPort: 5353 }
            endpoints:
              - { ip: 10.244.1.11 }
              - { ip: 10.244.2.12 }
        """;

    /// <summary>
    /// The test node with its services replaced and, optionally, its <c>conntrack:</c> section replaced by
    /// <paramref name="conntrack"/> (a YAML flow mapping such as <c>{ maxEntries: 1024, timeouts: { udp: 5 } }</c>).
    /// </summary>
    public static NodeConfig Config(string services, string? conntrack = null)
    {
        string yaml = TestNode.Yaml(services).ReplaceLineEndings("\n");
        if (conntrack is not null)
        {
            const string Default = "conntrack:\n  maxEntries: 4096";
            Assert.Contains(Default, yaml);
            yaml = yaml.Replace(Default, "conntrack: " + conntrack, StringComparison.Ordinal);
        }

        return NodeConfigLoader.Parse(yaml, "test-node.yaml").ThrowIfInvalid();
    }

    /// <summary>The service named <paramref name="name"/> as <paramref name="services"/> declares it, for <see cref="Control.ServiceController.Apply"/>.</summary>
    public static ServiceConfig Service(string services, string name = "web")
        => Config(services).Services.Single(s => s.Name == ServiceNames.FromUserInput(name));

    public static PipelineHarness Harness(string services, string? conntrack = null, int batchSize = 4)
        => new(Config(services, conntrack), batchSize);

    public static ServicePort Port(PipelineHarness harness, string vip, L4Protocol protocol, ushort port)
    {
        Assert.True(harness.Dataplane.Services.TryLookup(new ServiceKey(IpAddress.Parse(vip), protocol, port), out ServicePort? found));
        return found;
    }

    /// <summary>The backend Maglev gives a new flow (what the conntrack stage will pick without affinity).</summary>
    public static IpAddress MaglevPick(ServicePort port, string client, ushort sourcePort, string vip, ushort vipPort, byte protocol)
    {
        var key = new FlowKey(IpAddress.Parse(client), IpAddress.Parse(vip), sourcePort, vipPort, protocol);
        Assert.NotNull(port.Maglev);
        return port.Backends[port.Maglev.Lookup((uint)key.Hash())].Ip;
    }

    /// <summary>The first source port from <paramref name="from"/> up that Maglev sends to <paramref name="backend"/>.</summary>
    public static ushort SourcePortFor(ServicePort port, string backend, string client, string vip, ushort vipPort, byte protocol, ushort from = 40000)
    {
        IpAddress wanted = IpAddress.Parse(backend);
        for (ushort p = from; p < 65535; p++)
        {
            if (MaglevPick(port, client, p, vip, vipPort, protocol) == wanted)
            {
                return p;
            }
        }

        throw new InvalidOperationException($"no source port maps to {backend}");
    }

    /// <summary>Live conntrack entries at <paramref name="now"/>.</summary>
    public static List<FlowEntry> Entries(PipelineHarness harness, long now)
        => [.. harness.Dataplane.Conntrack.Snapshot(now).Select(static e => e.Entry)];

    /// <summary>The live entry whose original tuple is client:sport &gt; dst:dport.</summary>
    public static FlowEntry Entry(PipelineHarness harness, long now, string client, ushort sourcePort, string destination, ushort destinationPort, byte protocol)
    {
        var key = new FlowKey(IpAddress.Parse(client), IpAddress.Parse(destination), sourcePort, destinationPort, protocol);
        return Assert.Single(Entries(harness, now), e => e.Original == key);
    }

    // ---- frame builders ----

    public static byte[] Tcp4(string srcMac, string dstMac, string src, string dst, ushort sport, ushort dport, string flags,
        uint seq = 0, uint ack = 0, byte[]? data = null, byte ttl = 64)
    {
        var tcp = Tcp(sport, dport, flags, seq, ack, data);
        var ip = new IPv4Packet(IPAddress.Parse(src), IPAddress.Parse(dst)) { TimeToLive = ttl, PayloadPacket = tcp, FragmentFlags = 0x2 };
        tcp.UpdateTcpChecksum();
        ip.UpdateIPChecksum();
        return Frames.Ethernet(srcMac, dstMac, ip, EthernetType.IPv4).Bytes;
    }

    public static byte[] Tcp6(string srcMac, string dstMac, string src, string dst, ushort sport, ushort dport, string flags,
        uint seq = 0, uint ack = 0, byte[]? data = null, byte hopLimit = 64)
    {
        var tcp = Tcp(sport, dport, flags, seq, ack, data);
        var ip = new IPv6Packet(IPAddress.Parse(src), IPAddress.Parse(dst)) { HopLimit = hopLimit, PayloadPacket = tcp };
        tcp.UpdateTcpChecksum();
        return Frames.Ethernet(srcMac, dstMac, ip, EthernetType.IPv6).Bytes;
    }

    /// <summary>UDP over IPv4; <paramref name="zeroChecksum"/> sends it without a checksum (RFC 768).</summary>
    public static byte[] Udp4(string srcMac, string dstMac, string src, string dst, ushort sport, ushort dport, byte[]? data = null,
        byte ttl = 64, bool zeroChecksum = false)
    {
        byte[] frame = Frames.Udp4(srcMac, dstMac, src, dst, sport, dport, data, ttl);
        if (zeroChecksum)
        {
            frame[14 + 20 + 6] = 0;
            frame[14 + 20 + 7] = 0;
        }

        return frame;
    }

    public static byte[] Udp6(string srcMac, string dstMac, string src, string dst, ushort sport, ushort dport, byte[]? data = null, byte hopLimit = 64)
        => Frames.Udp6(srcMac, dstMac, src, dst, sport, dport, data, hopLimit);

    /// <summary>A DNS-like query or answer payload (id 0x1234, one question for web.default).</summary>
    public static byte[] Dns(bool answer)
    {
        byte[] question = [3, (byte)'w', (byte)'e', (byte)'b', 7, (byte)'d', (byte)'e', (byte)'f', (byte)'a', (byte)'u', (byte)'l', (byte)'t', 0, 0, 1, 0, 1];
        byte[] header = [0x12, 0x34, answer ? (byte)0x81 : (byte)0x01, answer ? (byte)0x80 : (byte)0x00, 0, 1, 0, answer ? (byte)1 : (byte)0, 0, 0, 0, 0];
        byte[] record = answer ? [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 0, 10] : [];
        return [.. header, .. question, .. record];
    }

    /// <summary>An ICMPv4 error (type, code, the 4 "rest" bytes) quoting <paramref name="quoted"/> (an IP datagram).</summary>
    public static byte[] Icmp4Error(string srcMac, string dstMac, string src, string dst, byte type, byte code, uint rest, byte[] quoted, byte ttl = 64)
    {
        byte[] body = new byte[8 + quoted.Length];
        body[0] = type;
        body[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(4), rest);
        quoted.CopyTo(body, 8);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(2), Checksum(body, 0));
        var icmp = new IcmpV4Packet(new PacketDotNet.Utils.ByteArraySegment(body));
        var ip = new IPv4Packet(IPAddress.Parse(src), IPAddress.Parse(dst)) { TimeToLive = ttl, PayloadPacket = icmp, Protocol = PacketDotNet.ProtocolType.Icmp };
        ip.UpdateIPChecksum();
        return Frames.Ethernet(srcMac, dstMac, ip, EthernetType.IPv4).Bytes;
    }

    /// <summary>An ICMPv6 error quoting <paramref name="quoted"/> (an IPv6 packet).</summary>
    public static byte[] Icmp6Error(string srcMac, string dstMac, string src, string dst, byte type, byte code, uint rest, byte[] quoted, byte hopLimit = 64)
    {
        byte[] body = new byte[8 + quoted.Length];
        body[0] = type;
        body[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(4), rest);
        quoted.CopyTo(body, 8);
        IPAddress s = IPAddress.Parse(src), d = IPAddress.Parse(dst);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(2), Checksum(body, PseudoHeader6(s.GetAddressBytes(), d.GetAddressBytes(), 58, body.Length)));
        var icmp = new IcmpV6Packet(new PacketDotNet.Utils.ByteArraySegment(body));
        var ip = new IPv6Packet(s, d) { HopLimit = hopLimit, PayloadPacket = icmp, NextHeader = PacketDotNet.ProtocolType.IcmpV6 };
        return Frames.Ethernet(srcMac, dstMac, ip, EthernetType.IPv6).Bytes;
    }

    /// <summary>The IP datagram inside an Ethernet frame (what an ICMP error quotes).</summary>
    public static byte[] L3(byte[] frame) => frame[14..];

    private static TcpPacket Tcp(ushort sport, ushort dport, string flags, uint seq, uint ack, byte[]? data) => new(sport, dport)
    {
        Synchronize = flags.Contains('S', StringComparison.Ordinal),
        Acknowledgment = flags.Contains('A', StringComparison.Ordinal),
        Finished = flags.Contains('F', StringComparison.Ordinal),
        Reset = flags.Contains('R', StringComparison.Ordinal),
        Push = flags.Contains('P', StringComparison.Ordinal),
        SequenceNumber = seq,
        AcknowledgmentNumber = ack,
        WindowSize = 64240,
        PayloadData = data ?? [],
    };

    // ---- assertions ----

    /// <summary>Exactly one frame was sent, on <paramref name="port"/>, byte for byte <paramref name="expected"/>; its checksums are valid.</summary>
    public static void AssertSent(List<Sent> sent, string port, byte[] expected)
    {
        Sent only = Assert.Single(sent);
        Assert.Equal(port, only.Port);
        AssertBytes(expected, only.Frame);
        AssertChecksums(only.Frame);
    }

    public static void AssertBytes(byte[] expected, byte[] actual)
    {
        if (expected.AsSpan().SequenceEqual(actual))
        {
            return;
        }

        int first = 0;
        while (first < Math.Min(expected.Length, actual.Length) && expected[first] == actual[first])
        {
            first++;
        }

        Assert.Fail($"frames differ at byte {first} (lengths {expected.Length}/{actual.Length})\n"
            + $"expected {Convert.ToHexString(expected)}\n"
            + $"actual   {Convert.ToHexString(actual)}\n"
            + $"expected {Frames.Parse(expected)}\nactual   {Frames.Parse(actual)}");
    }

    /// <summary>
    /// Every checksum of the frame is valid, checked twice: by PacketDotNet and by an independent one's-complement sum
    /// (IPv4 header, TCP/UDP with pseudo-header, ICMP, ICMPv6 with pseudo-header; for ICMP errors also the quoted IPv4
    /// header). A zero UDP checksum over IPv4 means "none" and is accepted.
    /// </summary>
    public static void AssertChecksums(byte[] frame)
    {
        EthernetPacket eth = Frames.Parse(frame);
        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12));
        ReadOnlySpan<byte> l3 = frame.AsSpan(14);
        if (etherType == 0x0800)
        {
            var ip = (IPv4Packet)eth.PayloadPacket;
            Assert.True(ip.ValidIPChecksum, "IPv4 header checksum (PacketDotNet)");
            int ihl = (l3[0] & 0x0F) * 4;
            int total = BinaryPrimitives.ReadUInt16BigEndian(l3.Slice(2));
            Assert.Equal(0, Checksum(l3.Slice(0, ihl), 0));
            ReadOnlySpan<byte> l4 = l3.Slice(ihl, total - ihl);
            ulong pseudo = PseudoHeader4(l3.Slice(12, 4), l3.Slice(16, 4), l3[9], l4.Length);
            CheckL4(ip.PayloadPacket, l3[9], l4, pseudo, v4: true);
        }
        else if (etherType == 0x86DD)
        {
            var ip = (IPv6Packet)eth.PayloadPacket;
            int payload = BinaryPrimitives.ReadUInt16BigEndian(l3.Slice(4));
            ReadOnlySpan<byte> l4 = l3.Slice(40, payload);
            ulong pseudo = PseudoHeader6(l3.Slice(8, 16), l3.Slice(24, 16), l3[6], l4.Length);
            CheckL4(ip.PayloadPacket, l3[6], l4, pseudo, v4: false);
        }
    }

    private static void CheckL4(Packet packet, byte protocol, ReadOnlySpan<byte> l4, ulong pseudo, bool v4)
    {
        switch (protocol)
        {
            case 6:
                Assert.True(((TcpPacket)packet).ValidTcpChecksum, "TCP checksum (PacketDotNet)");
                Assert.Equal(0, Checksum(l4, pseudo));
                break;
            case 17:
                if (v4 && BinaryPrimitives.ReadUInt16BigEndian(l4.Slice(6)) == 0)
                {
                    break;
                }

                Assert.True(((UdpPacket)packet).ValidUdpChecksum, "UDP checksum (PacketDotNet)");
                Assert.Equal(0, Checksum(l4, pseudo));
                break;
            case 1:
                Assert.True(((IcmpV4Packet)packet).ValidIcmpChecksum, "ICMP checksum (PacketDotNet)");
                Assert.Equal(0, Checksum(l4, 0));
                if (l4[0] is 3 or 11 or 12 && l4.Length >= 8 + 20)
                {
                    ReadOnlySpan<byte> inner = l4.Slice(8);
                    Assert.Equal(0, Checksum(inner.Slice(0, (inner[0] & 0x0F) * 4), 0));
                }

                break;
            case 58:
                Assert.Equal(0, Checksum(l4, pseudo));
                break;
        }
    }

    /// <summary>The one's-complement checksum of <paramref name="data"/> plus a pseudo-header sum: 0 when the data already carries a valid checksum.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data, ulong pseudo)
    {
        ulong sum = pseudo;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data.Slice(i));
        }

        if (i < data.Length)
        {
            sum += (ulong)data[i] << 8;
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    private static ulong PseudoHeader4(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol, int length)
        => BinaryPrimitives.ReadUInt16BigEndian(source) + (ulong)BinaryPrimitives.ReadUInt16BigEndian(source.Slice(2))
            + BinaryPrimitives.ReadUInt16BigEndian(destination) + (ulong)BinaryPrimitives.ReadUInt16BigEndian(destination.Slice(2))
            + protocol + (ulong)length;

    private static ulong PseudoHeader6(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol, int length)
    {
        ulong sum = protocol + (ulong)length;
        for (int i = 0; i < 16; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(source.Slice(i)) + (ulong)BinaryPrimitives.ReadUInt16BigEndian(destination.Slice(i));
        }

        return sum;
    }
}
