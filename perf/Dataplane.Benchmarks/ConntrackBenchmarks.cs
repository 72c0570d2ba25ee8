using System.Net;
using PhysicalAddress = System.Net.NetworkInformation.PhysicalAddress;
using BenchmarkDotNet.Attributes;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Conntrack;
using Dataplane.Nodes;
using Dataplane.Packets;
using Dataplane.Pipeline;
using PacketDotNet;

namespace Dataplane.Benchmarks;

/// <summary>
/// The node the conntrack benchmarks run: service web 10.96.0.10:80 -&gt; web-1:8080 (a local pod). Traffic comes
/// from the uplink (clients on other nodes: no source guard, so any number of client addresses) and is routed to
/// web-1, so every packet runs the whole graph: ethernet-input, ip4-input, source-guard, conntrack, bridge,
/// ip4-lookup, interface-output.
/// </summary>
internal static class ConntrackBench
{
    public const int BatchSize = 256;
    public const long T0 = 1_767_225_600_000_000_000;
    public const string UplinkMac = "02-00-00-00-77-10";
    public const string NodeBMac = "02-00-00-00-77-11";

    public static NodeConfig Config(int maxEntries, int tcpSynSent = 120) => NodeConfigLoader.Parse($$"""
        node:
          name: node-a
          podCidr: 10.244.1.0/24
          gatewayIp: 10.244.1.1
          mac: 02:00:00:00:01:01
          uplink: { interface: up0, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10 }
        pods:
          - { name: web-1, ip: 10.244.1.11, mac: 02:00:0a:f4:01:0b }
          - { name: client, ip: 10.244.1.20, mac: 02:00:0a:f4:01:14 }
        routes:
          - { cidr: 10.100.0.0/16, via: 192.168.77.11, viaMac: 02:00:00:00:77:11 }
        services:
          - name: web
            clusterIP: 10.96.0.10
            ports:
              - { protocol: TCP, port: 80, targetPort: 8080 }
            endpoints:
              - { ip: 10.244.1.11 }
        conntrack: { maxEntries: {{maxEntries}}, timeouts: { tcpSynSent: {{tcpSynSent}} } }
        """, "bench.yaml").ThrowIfInvalid();

    /// <summary>Client i: 10.100.0.0 + i/50, source port 10000 + i%50 (distinct tuples for up to 3.2M flows).</summary>
    public static (uint Ip, ushort Port) Client(int i) => (0x0A64_0000u + (uint)(i / 50), (ushort)(10000 + (i % 50)));

    public static byte[] Tcp(uint src, ushort sport, string dst, ushort dport, bool syn)
    {
        var tcp = new TcpPacket(sport, dport) { Synchronize = syn, Acknowledgment = !syn, SequenceNumber = 1000, AcknowledgmentNumber = syn ? 0u : 5001u, WindowSize = 64240 };
        var ip = new IPv4Packet(new IPAddress([(byte)(src >> 24), (byte)(src >> 16), (byte)(src >> 8), (byte)src]), IPAddress.Parse(dst))
        {
            TimeToLive = 64, PayloadPacket = tcp, FragmentFlags = 0x2,
        };
        tcp.UpdateTcpChecksum();
        ip.UpdateIPChecksum();
        return new EthernetPacket(PhysicalAddress.Parse(NodeBMac), PhysicalAddress.Parse(UplinkMac), EthernetType.IPv4) { PayloadPacket = ip }.Bytes;
    }

    /// <summary>Fills the batch from <paramref name="frames"/> (round robin) and runs one batch through the graph.</summary>
    public static void RunBatch(Graph graph, byte[][] frames, ref int next, ushort port, long now)
    {
        PacketBatch batch = graph.Batch;
        batch.Clear();
        for (int i = 0; i < BatchSize; i++)
        {
            batch.TryAdd(frames[next], port, now);
            next = next + 1 == frames.Length ? 0 : next + 1;
        }

        graph.Run();
    }

    public static void Check(Graph graph, string what)
    {
        if (graph.Batch.TransmitCount != BatchSize)
        {
            string drops = string.Join(", ", graph.Nodes.SelectMany(n => n.DropReasons.Select((r, i) => (n.Name, r.Name, Count: n.Counters.Drops[i]))).Where(d => d.Count > 0));
            throw new InvalidOperationException($"{what}: {graph.Batch.TransmitCount} of {BatchSize} packets sent ({drops})");
        }
    }
}

/// <summary>
/// Packets of established service flows (conntrack hits: lookup, TCP state, DNAT) through the whole graph, with 1k,
/// 100k and 1M live entries; packets pick flows at random so a big table misses the caches as it would in a node.
/// Also the bare table lookup at the same sizes. Per packet (OperationsPerInvoke = one 256-packet batch).
/// Run: dotnet run -c Release --project perf/Dataplane.Benchmarks -- --filter '*Conntrack*' --job short
/// </summary>
[MemoryDiagnoser]
public class ConntrackHitBenchmarks
{
    private NodeDataplane _dataplane = null!;
    private Graph _graph = null!;
    private byte[][] _frames = [];
    private FlowKey[] _keys = [];
    private ushort _uplink;
    private int _next;

    [Params(1_000, 100_000, 1_000_000)]
    public int LiveFlows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dataplane = new NodeDataplane(ConntrackBench.Config(Math.Max(1024, LiveFlows + (LiveFlows / 4))));
        _graph = _dataplane.CreateGraph(new PacketBatch(ConntrackBench.BatchSize));
        _uplink = _dataplane.Uplink!.Id;
        IpAddress vip = IpAddress.Parse("10.96.0.10");
        IpAddress backend = IpAddress.Parse("10.244.1.11");
        for (int i = 0; i < LiveFlows; i++)
        {
            (uint ip, ushort port) = ConntrackBench.Client(i);
            var flow = new FlowEntry
            {
                Original = new FlowKey(new Ip4Address(ip), vip, port, 80, IpProtocol.Tcp),
                NatHi = backend.Bits.Hi,
                NatLo = backend.Bits.Lo,
                NatPort = 8080,
                Flags = FlowFlags.Dnat | FlowFlags.Service,
                TcpState = TcpState.Established,
                Expires = long.MaxValue,
            };
            if (_dataplane.Conntrack.FindOrInsert(in flow, ConntrackBench.T0, false, out _, out _) != InsertResult.Inserted)
            {
                throw new InvalidOperationException($"could not insert flow {i}");
            }
        }

        var random = new Random(42);
        _frames = new byte[64 * ConntrackBench.BatchSize][];
        _keys = new FlowKey[_frames.Length];
        for (int n = 0; n < _frames.Length; n++)
        {
            (uint ip, ushort port) = ConntrackBench.Client(random.Next(LiveFlows));
            _frames[n] = ConntrackBench.Tcp(ip, port, "10.96.0.10", 80, syn: false);
            _keys[n] = new FlowKey(new Ip4Address(ip), vip, port, 80, IpProtocol.Tcp);
        }

        ConntrackBench.RunBatch(_graph, _frames, ref _next, _uplink, ConntrackBench.T0);
        ConntrackBench.Check(_graph, "hits");
    }

    [Benchmark(OperationsPerInvoke = ConntrackBench.BatchSize)]
    public void EstablishedHitsWholeGraph() => ConntrackBench.RunBatch(_graph, _frames, ref _next, _uplink, ConntrackBench.T0);

    [Benchmark(OperationsPerInvoke = ConntrackBench.BatchSize)]
    public int TableLookupOnly()
    {
        ConntrackTable table = _dataplane.Conntrack;
        int found = 0;
        int start = _next;
        for (int i = 0; i < ConntrackBench.BatchSize; i++)
        {
            found += table.TryLookup(in _keys[start], ConntrackBench.T0, out _, out _) ? 1 : 0;
            start = start + 1 == _keys.Length ? 0 : start + 1;
        }

        _next = start;
        return found;
    }
}

/// <summary>
/// New flows: SYNs to the VIP from distinct clients (service lookup, Maglev pick, find-or-insert, DNAT) through the
/// whole graph, against the same packets addressed straight to the backend through a graph without conntrack (the
/// rest of the pipeline's cost). The clock moves 1 s per batch with tcpSynSent 1 s, so a flow is dead when its
/// frame comes round again and every SYN is a new flow (it replaces its own expired entry, as in steady state).
/// <see cref="Cycle"/> distinct flows go round: 4096 keep the table's touched lines in cache, 65536 do not.
/// </summary>
[MemoryDiagnoser]
public class ConntrackNewFlowBenchmarks
{

    private Graph _graph = null!;
    private Graph _noConntrack = null!;
    private byte[][] _syns = [];
    private byte[][] _direct = [];
    private ushort _uplink;
    private int _next;
    private int _nextDirect;
    private long _now = ConntrackBench.T0;

    [Params(4096, 65536)]
    public int Cycle { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var dataplane = new NodeDataplane(ConntrackBench.Config(2 * Cycle, tcpSynSent: 1));
        _graph = dataplane.CreateGraph(new PacketBatch(ConntrackBench.BatchSize));
        _uplink = dataplane.Uplink!.Id;

        // The same stages without conntrack: what source-guard sent to conntrack goes straight to the bridge.
        _noConntrack = StageGraph.Definition.Bypass(Nodes.Conntrack.Next.Bridge).Build(new StageContext(dataplane), new PacketBatch(ConntrackBench.BatchSize), dataplane.Ports);

        _syns = new byte[Cycle][];
        _direct = new byte[Math.Min(Cycle, 64 * ConntrackBench.BatchSize)][];
        for (int i = 0; i < Cycle; i++)
        {
            (uint ip, ushort port) = ConntrackBench.Client(i);
            _syns[i] = ConntrackBench.Tcp(ip, port, "10.96.0.10", 80, syn: true);
            if (i < _direct.Length)
            {
                _direct[i] = ConntrackBench.Tcp(ip, port, "10.244.1.11", 8080, syn: true);
            }
        }

        NewFlowSyns();
        ConntrackBench.Check(_graph, "new flows");
        ConntrackBench.RunBatch(_noConntrack, _direct, ref _nextDirect, _uplink, _now);
        ConntrackBench.Check(_noConntrack, "no conntrack");
    }

    [Benchmark(OperationsPerInvoke = ConntrackBench.BatchSize)]
    public void NewFlowSyns()
    {
        _now += 1_000_000_000;
        ConntrackBench.RunBatch(_graph, _syns, ref _next, _uplink, _now);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = ConntrackBench.BatchSize)]
    public void SameSynsWithoutConntrack() => ConntrackBench.RunBatch(_noConntrack, _direct, ref _nextDirect, _uplink, _now);
}
