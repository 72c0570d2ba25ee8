using BenchmarkDotNet.Attributes;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.Benchmarks;

/// <summary>
/// Whole-graph runs of one 256-packet batch: every stage a packet meets, from ethernet-input to
/// interface-output, plus the transmit walk (to a sink that discards). The frames stay in their slots; each
/// run restores the first <see cref="RestoreBytes"/> bytes (the headers stages rewrite: TTL, MACs, NAT), which
/// stands in for the read() that fills a slot in the daemon. One operation = one packet.
/// </summary>
public abstract class PipelineBenchmarkBase
{
    protected const int BatchSize = 256;
    private const int RestoreBytes = 64;

    private const int SourcePortOffset = EthernetHeader.Size + Ipv4Header.MinSize;
    private const int TcpChecksumOffset = SourcePortOffset + TcpHeader.ChecksumOffset;

    private byte[][] _frames = [];
    private ushort[] _ports = [];
    private bool[] _newFlow = [];
    private ushort _nextSourcePort = 1024;
    private long _clock = 1_800_000_000_000_000_000;

    protected NodeDataplane Dataplane { get; private set; } = null!;

    protected PacketBatch Batch { get; private set; } = null!;

    protected Graph Graph { get; private set; } = null!;

    /// <param name="newFlows">Frames that open a new flow every run: TCP SYNs whose source port changes each time.</param>
    protected void Build(NodeDataplane dataplane, IReadOnlyList<(string Port, byte[] Frame)> frames, IReadOnlySet<int>? newFlows = null)
    {
        Dataplane = dataplane;
        Batch = new PacketBatch(BatchSize);
        Graph = dataplane.CreateGraph(Batch);
        _frames = new byte[BatchSize][];
        _ports = new ushort[BatchSize];
        _newFlow = new bool[BatchSize];
        for (int i = 0; i < BatchSize; i++)
        {
            (string port, byte[] frame) = frames[i % frames.Count];
            dataplane.TryGetPort(port, out Port p);
            _frames[i] = frame;
            _ports[i] = p.Id;
            _newFlow[i] = newFlows?.Contains(i % frames.Count) ?? false;
            Batch.TryAdd(frame, p.Id, _clock);
        }

        // Warm the tables (MAC learning, conntrack entries) the way traffic would before steady state.
        for (int i = 0; i < 4; i++)
        {
            RunBatch();
        }
    }

    protected void RunBatch()
    {
        _clock += 1_000_000;
        Batch.Clear();
        for (int i = 0; i < BatchSize; i++)
        {
            byte[] frame = _frames[i];
            Span<byte> slot = Batch.NextReceiveSpace(0);
            frame.AsSpan(0, Math.Min(RestoreBytes, frame.Length)).CopyTo(slot);
            if (_newFlow[i])
            {
                NewSourcePort(slot);
            }

            Batch.CommitReceived(frame.Length, _ports[i], _clock);
        }

        Graph.Run();
        var sink = default(DiscardSink);
        Graph.Flush(ref sink);
    }

    private void NewSourcePort(Span<byte> frame)
    {
        ushort port = _nextSourcePort = _nextSourcePort == ushort.MaxValue ? (ushort)1024 : (ushort)(_nextSourcePort + 1);
        var delta = default(ChecksumDelta);
        delta.Add16(System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(SourcePortOffset)), port);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame.Slice(SourcePortOffset), port);
        Span<byte> checksum = frame.Slice(TcpChecksumOffset);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(checksum, delta.Apply(System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(checksum)));
    }

    private struct DiscardSink : ITransmitSink
    {
        public readonly bool Send(ushort port, PacketBatch batch, ushort packet) => true;
    }
}

/// <summary>The stages' header parsing on its own: Ethernet, IPv4 (checksum verified) and TCP, per packet.</summary>
[MemoryDiagnoser]
public class HeaderParseBenchmarks
{
    private byte[][] _frames = [];

    [GlobalSetup]
    public void Setup() => _frames = [.. Enumerable.Range(0, 256).Select(i => BenchmarkNode.Frame(BenchmarkNode.ClientMac, BenchmarkNode.GatewayMac,
        BenchmarkNode.ClientIp, BenchmarkNode.Vip, IpProtocol.Tcp, (ushort)(10000 + i), 80))];

    [Benchmark(OperationsPerInvoke = 256)]
    public int ParseEthernetIpv4Tcp()
    {
        int ok = 0;
        foreach (byte[] frame in _frames)
        {
            if (EthernetHeader.TryParse(frame, out EthernetHeader eth) == EthernetParse.Ok
                && Ipv4Header.TryParse(eth.Payload, out Ipv4Header ip) == Ipv4Parse.Ok && ip.IsChecksumValid
                && TcpHeader.TryParse(ip.Payload, out TcpHeader tcp) && tcp.DestinationPort == 80)
            {
                ok++;
            }
        }

        return ok;
    }
}

/// <summary>Pod-to-pod frames between two pods of the node: learned MACs, known unicast, conntrack hit.</summary>
[MemoryDiagnoser]
public class BridgeBenchmarks : PipelineBenchmarkBase
{
    [Params(64, 1500)]
    public int FrameSize { get; set; }

    [GlobalSetup]
    public void Setup() => Build(new NodeDataplane(BenchmarkNode.Config()), [.. Enumerable.Range(0, 64).SelectMany(i => new[]
    {
        ("client", BenchmarkNode.Frame(BenchmarkNode.ClientMac, BenchmarkNode.Web1Mac, BenchmarkNode.ClientIp, BenchmarkNode.Web1Ip, IpProtocol.Udp, (ushort)(20000 + i), 9000, FrameSize)),
        ("web-1", BenchmarkNode.Frame(BenchmarkNode.Web1Mac, BenchmarkNode.ClientMac, BenchmarkNode.Web1Ip, BenchmarkNode.ClientIp, IpProtocol.Udp, 9000, (ushort)(20000 + i), FrameSize)),
    })]);

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public void Bridged() => RunBatch();
}

/// <summary>Pod traffic to other nodes' pods: LPM over a FIB of 10, 10k or 100k prefixes, TTL and MAC rewrite, out the uplink.</summary>
[MemoryDiagnoser]
public class RouteBenchmarks : PipelineBenchmarkBase
{
    [Params(10, 10_000, 100_000)]
    public int Prefixes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var dataplane = new NodeDataplane(BenchmarkNode.Config());
        int nextHop = dataplane.Adjacencies.AddNextHop(Ip4Address.Parse("192.168.77.11"), dataplane.Uplink!.Id, MacAddress.Parse("02:00:00:00:77:11"));
        var random = new Random(Prefixes);
        var destinations = new List<Ip4Address>();
        while (dataplane.Fib.Count < Prefixes)
        {
            // /24s spread over the unicast space (10.0.0.0/8 alone holds only 65,536 of them), none of them this node's.
            uint network = (uint)random.Next(1 << 16, 224 << 16) << 8;
            if ((network >> 24) != 127 && (network & 0xFFFF_FF00) != 0x0AF4_0100 && dataplane.Fib.Insert(new IpPrefix(new Ip4Address(network), 24), nextHop) == Tables.FibResult.Added)
            {
                destinations.Add(new Ip4Address(network | 7));
            }
        }

        Build(dataplane, [.. Enumerable.Range(0, BatchSize).Select(i => ("client", BenchmarkNode.Frame(BenchmarkNode.ClientMac, BenchmarkNode.GatewayMac,
            BenchmarkNode.ClientIp, destinations[random.Next(destinations.Count)], IpProtocol.Udp, (ushort)(30000 + i), 9000)))]);
    }

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public void Routed() => RunBatch();
}

/// <summary>
/// A realistic node mix: established TCP through the service VIP in both directions (DNAT one way, reverse
/// NAT the other, the reply bridged from the local backend), bridged pod-to-pod UDP, routed traffic to
/// another node, and 1 packet in 32 a SYN opening a new service flow (Maglev pick, DNAT, conntrack insert),
/// in 64- and 1500-byte frames. New flows time out after 5 s of pipeline clock (1 ms per batch here), so the
/// table reaches a steady size instead of filling.
/// </summary>
[MemoryDiagnoser]
public class FullPipelineBenchmarks : PipelineBenchmarkBase
{
    [Params(64, 1500)]
    public int FrameSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var frames = new List<(string, byte[])>();
        Ip4Address remote = BenchmarkNode.RemotePodIp;
        for (int i = 0; i < 32; i++)
        {
            ushort port = (ushort)(40000 + i);
            frames.Add(("client", BenchmarkNode.Frame(BenchmarkNode.ClientMac, BenchmarkNode.GatewayMac, BenchmarkNode.ClientIp, BenchmarkNode.Vip, IpProtocol.Tcp, port, 80, FrameSize)));
            frames.Add(("web-1", BenchmarkNode.Frame(BenchmarkNode.Web1Mac, BenchmarkNode.ClientMac, BenchmarkNode.Web1Ip, BenchmarkNode.ClientIp, IpProtocol.Tcp, 8080, port, FrameSize)));
            frames.Add(("client", BenchmarkNode.Frame(BenchmarkNode.ClientMac, BenchmarkNode.GatewayMac, BenchmarkNode.ClientIp, BenchmarkNode.Vip, IpProtocol.Tcp, port, 80, FrameSize)));
            frames.Add(("web-1", BenchmarkNode.Frame(BenchmarkNode.Web1Mac, BenchmarkNode.ClientMac, BenchmarkNode.Web1Ip, BenchmarkNode.ClientIp, IpProtocol.Tcp, 8080, port, FrameSize)));
            frames.Add(("client", BenchmarkNode.Frame(BenchmarkNode.ClientMac, BenchmarkNode.Web1Mac, BenchmarkNode.ClientIp, BenchmarkNode.Web1Ip, IpProtocol.Udp, port, 9000, FrameSize)));
            frames.Add(("web-1", BenchmarkNode.Frame(BenchmarkNode.Web1Mac, BenchmarkNode.ClientMac, BenchmarkNode.Web1Ip, BenchmarkNode.ClientIp, IpProtocol.Udp, 9000, port, FrameSize)));
            frames.Add(("client", BenchmarkNode.Frame(BenchmarkNode.ClientMac, BenchmarkNode.GatewayMac, BenchmarkNode.ClientIp, remote, IpProtocol.Tcp, port, 443, FrameSize)));
            frames.Add(i % 4 == 0
                ? ("client", BenchmarkNode.Frame(BenchmarkNode.ClientMac, BenchmarkNode.GatewayMac, BenchmarkNode.ClientIp, BenchmarkNode.Vip, IpProtocol.Tcp, port, 80, 64, TcpFlags.Syn))
                : ("client", BenchmarkNode.Frame(BenchmarkNode.ClientMac, BenchmarkNode.GatewayMac, BenchmarkNode.ClientIp, BenchmarkNode.Vip, IpProtocol.Tcp, port, 80, FrameSize)));
        }

        var dataplane = new NodeDataplane(BenchmarkNode.Config(synSentSeconds: 5));
        BenchmarkNode.OpenConnections(dataplane, Enumerable.Range(0, 32).Select(static i => (ushort)(40000 + i)), 1_800_000_000_000_000_000);
        Build(dataplane, frames, new HashSet<int>(Enumerable.Range(0, frames.Count).Where(static i => i % 32 == 7)));
    }

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public void EstablishedMix() => RunBatch();
}
