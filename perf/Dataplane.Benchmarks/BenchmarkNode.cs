using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Benchmarks;

/// <summary>
/// The node every pipeline benchmark runs, and hand-built frames for it (the benchmarks must not pay for
/// PacketDotNet in their setup loops). Frames are built once; each run restores only the headers a stage
/// rewrites, so the figure is the pipeline's work, not a copy of payload.
/// </summary>
internal static class BenchmarkNode
{
    public static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:01:01");
    public static readonly MacAddress ClientMac = MacAddress.Parse("02:00:0a:f4:01:14");
    public static readonly MacAddress Web1Mac = MacAddress.Parse("02:00:0a:f4:01:0b");
    public static readonly Ip4Address ClientIp = Ip4Address.Parse("10.244.1.20");
    public static readonly Ip4Address Web1Ip = Ip4Address.Parse("10.244.1.11");
    public static readonly Ip4Address Vip = Ip4Address.Parse("10.96.0.10");
    public static readonly Ip4Address RemotePodIp = Ip4Address.Parse("10.244.2.12");
    public static readonly MacAddress UplinkMac = MacAddress.Parse("02:00:00:00:77:10");
    public static readonly MacAddress NodeBMac = MacAddress.Parse("02:00:00:00:77:11");

    public static NodeConfig Config(int conntrackEntries = 1 << 20, int synSentSeconds = 120) => NodeConfigLoader.Parse($$"""
        node:
          name: bench
          podCidr: 10.244.1.0/24
          gatewayIp: 10.244.1.1
          mac: {{GatewayMac}}
          uplink: { interface: up0, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10 }
        pods:
          - { name: web-1, ip: {{Web1Ip}}, mac: {{Web1Mac}} }
          - { name: client, ip: {{ClientIp}}, mac: {{ClientMac}} }
        routes:
          - { cidr: 10.244.2.0/24, via: 192.168.77.11, viaMac: 02:00:00:00:77:11 }
        services:
          - name: web
            clusterIP: {{Vip}}
            ports: [ { name: http, protocol: TCP, port: 80, targetPort: 8080 } ]
            endpoints: [ { ip: {{Web1Ip}} } ]
        conntrack: { maxEntries: {{conntrackEntries}}, timeouts: { tcpSynSent: {{synSentSeconds}} } }
        """, "benchmark").ThrowIfInvalid();

    /// <summary>
    /// Opens TCP connections from the client to the VIP (served by web-1, whose SYN-ACK is bridged back) and
    /// to a pod on node-b (SYN-ACK arriving on the uplink), with SYN and SYN-ACK, so the benchmarks' ACKs are
    /// established traffic; conntrack would rightly count a bare ACK after a lone SYN as invalid.
    /// </summary>
    public static void OpenConnections(NodeDataplane dataplane, IEnumerable<ushort> clientPorts, long timestamp)
    {
        var batch = new Pipeline.PacketBatch(256);
        Pipeline.Graph graph = dataplane.CreateGraph(batch);
        dataplane.TryGetPort("client", out Pipeline.Port client);
        dataplane.TryGetPort("web-1", out Pipeline.Port web1);
        ushort uplink = dataplane.Uplink!.Id;
        foreach (ushort[] chunk in clientPorts.Chunk(64))
        {
            foreach (ushort port in chunk)
            {
                batch.TryAdd(Frame(ClientMac, GatewayMac, ClientIp, Vip, IpProtocol.Tcp, port, 80, 64, TcpFlags.Syn), client.Id, timestamp);
                batch.TryAdd(Frame(ClientMac, GatewayMac, ClientIp, RemotePodIp, IpProtocol.Tcp, port, 443, 64, TcpFlags.Syn), client.Id, timestamp);
            }

            graph.Run();
            batch.Clear();
            foreach (ushort port in chunk)
            {
                batch.TryAdd(Frame(Web1Mac, ClientMac, Web1Ip, ClientIp, IpProtocol.Tcp, 8080, port, 64, TcpFlags.Syn | TcpFlags.Ack), web1.Id, timestamp);
                batch.TryAdd(Frame(NodeBMac, UplinkMac, RemotePodIp, ClientIp, IpProtocol.Tcp, 443, port, 64, TcpFlags.Syn | TcpFlags.Ack), uplink, timestamp);
            }

            graph.Run();
            batch.Clear();
        }
    }

    /// <summary>An Ethernet/IPv4/TCP (or UDP) frame of <paramref name="length"/> bytes with valid checksums.</summary>
    public static byte[] Frame(MacAddress src, MacAddress dst, Ip4Address srcIp, Ip4Address dstIp, byte protocol, ushort sport, ushort dport,
        int length = 64, TcpFlags flags = TcpFlags.Ack)
    {
        byte[] frame = new byte[length];
        EthernetHeader.Write(frame, dst, src, EtherType.Ipv4);
        int l4Length = length - EthernetHeader.Size - Ipv4Header.MinSize;
        Ipv4Header.Write(frame.AsSpan(EthernetHeader.Size), length - EthernetHeader.Size, protocol, 64, srcIp, dstIp, dontFragment: true);
        Span<byte> l4 = frame.AsSpan(EthernetHeader.Size + Ipv4Header.MinSize);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(l4, sport);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(l4.Slice(2), dport);
        int checksumOffset;
        if (protocol == IpProtocol.Tcp)
        {
            l4[12] = 5 << 4;
            l4[13] = (byte)flags;
            l4[14] = 0xFF;
            checksumOffset = TcpHeader.ChecksumOffset;
        }
        else
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(l4.Slice(4), (ushort)l4Length);
            checksumOffset = UdpHeader.ChecksumOffset;
        }

        ulong pseudo = InternetChecksum.PseudoHeaderSum(srcIp, dstIp, protocol, l4Length);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(l4.Slice(checksumOffset), InternetChecksum.Finish(InternetChecksum.Sum(l4, pseudo)));
        return frame;
    }
}
