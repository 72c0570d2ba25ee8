using System.Diagnostics;
using Dataplane.Benchmarks;
using Dataplane.Daemon;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Pipeline;

namespace Dataplane.ApiSync;

/// <summary>
/// A worker's loop on its own thread over the node the sync programs: one graph, batches of prebuilt frames stamped with
/// the daemon's <see cref="PipelineClock"/>, output counted by a struct sink (as tests/.../ZeroAllocationTests.cs drives
/// it). Each batch: 32 SYNs from the client pod to the churned service's VIP, one to each of 31 other VIPs, source ports
/// rotating over 4,096 (a tuple comes back while its conntrack entry lives, so most are conntrack hits, and the ones
/// whose backend the churn removed start over), and one ARP reply from a remote node on the uplink (how the next hops
/// get resolved, and stay so). <see cref="GC.GetAllocatedBytesForCurrentThread"/> is read on the thread itself at the
/// start and end of the measured window.
/// </summary>
internal sealed class Forwarder
{
    private const int BatchSize = 64;
    private const int ChurnVipFrames = 32;
    private const int SourcePorts = 4096;
    private const int MaxMarks = 64;

    private readonly Graph _graph;
    private readonly PacketBatch _batch;
    private readonly ushort _client;
    private readonly ushort _uplink;
    private readonly byte[][] _toChurnVip;
    private readonly byte[][][] _toOthers;
    private readonly byte[][] _arpReplies;
    private readonly Thread _thread;

    // Marks the controller asked for and the thread has taken; what the thread read at each (written before _taken moves).
    private volatile int _requested;
    private volatile int _taken;
    private volatile bool _stop;
    private readonly long[] _allocated = new long[MaxMarks];
    private readonly long[] _ticks = new long[MaxMarks];
    private readonly long[] _batches = new long[MaxMarks];
    private readonly long[] _packets = new long[MaxMarks];
    private readonly long[] _frames = new long[MaxMarks];
    private Exception? _failure;

    public Forwarder(NodeDataplane dataplane, Cluster cluster)
    {
        _batch = new PacketBatch(256);
        _graph = dataplane.CreateGraph(_batch);
        _client = dataplane.TryGetPort("client", out Port client) ? client.Id : throw new InvalidOperationException("no client pod");
        _uplink = dataplane.Uplink!.Id;
        Ip4Address[] others = [.. cluster.OtherVips(BatchSize - ChurnVipFrames)];
        OtherVipCount = others.Length;
        _toChurnVip = [.. Enumerable.Range(0, SourcePorts).Select(i => Syn(cluster.ChurnVip, (ushort)(20000 + i)))];
        _toOthers = [.. others.Select(vip => Enumerable.Range(0, SourcePorts / ChurnVipFrames).Select(i => Syn(vip, (ushort)(20000 + i))).ToArray())];
        _arpReplies = [.. Cluster.RemoteNodeIps.Select((ip, i) => ArpReply(ip, MacAddress.Parse($"02:00:00:00:77:{11 + i:x2}")))];
        _thread = new Thread(Loop) { IsBackground = true, Name = "forwarding" };
    }

    public int OtherVipCount { get; }

    public Graph Graph => _graph;

    public void Start() => _thread.Start();

    /// <summary>
    /// Has the thread note, between two batches, its allocated bytes and counters; returns the mark's number for
    /// <see cref="Between"/>. The first mark after <see cref="Start"/> waits <paramref name="warmup"/> first (tiered JIT settles).
    /// </summary>
    public int Mark(TimeSpan warmup = default)
    {
        Thread.Sleep(warmup);
        int mark = _requested;
        if (mark == MaxMarks)
        {
            throw new InvalidOperationException($"at most {MaxMarks} marks");
        }

        _requested = mark + 1;
        var deadline = Stopwatch.StartNew();
        while (_taken <= mark)
        {
            if (_failure is not null || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException("the forwarding thread did not take its mark", _failure);
            }

            Thread.Sleep(1);
        }

        return mark;
    }

    /// <summary>What the thread forwarded and allocated between two marks (drops are the caller's to fill in).</summary>
    public ForwardingFigures Between(int from, int to)
    {
        double seconds = Stopwatch.GetElapsedTime(_ticks[from], _ticks[to]).TotalSeconds;
        long packets = _packets[to] - _packets[from];
        return new ForwardingFigures(
            Seconds: Math.Round(seconds, 2),
            Batches: _batches[to] - _batches[from],
            PacketsIn: packets,
            FramesOut: _frames[to] - _frames[from],
            Drops: 0,
            Mpps: Math.Round(packets / seconds / 1e6, 2),
            AllocatedBytes: _allocated[to] - _allocated[from],
            OtherVips: OtherVipCount);
    }

    public void Stop()
    {
        _stop = true;
        _thread.Join();
        if (_failure is not null)
        {
            throw new InvalidOperationException("the forwarding thread failed", _failure);
        }
    }

    private void Loop()
    {
        try
        {
            Run();
        }
        catch (Exception ex)
        {
            _failure = ex;
        }
    }

    private void Run()
    {
        var sink = new CountingSink();
        long iteration = 0;
        long packetsIn = 0;
        while (!_stop)
        {
            int taken = _taken;
            if (_requested != taken)
            {
                // Read first, so nothing this bookkeeping does is counted.
                _allocated[taken] = GC.GetAllocatedBytesForCurrentThread();
                _ticks[taken] = Stopwatch.GetTimestamp();
                _batches[taken] = iteration;
                _packets[taken] = packetsIn;
                _frames[taken] = sink.Frames;
                _taken = taken + 1;
            }

            long now = PipelineClock.Now();
            _graph.Poll(now);
            int round = (int)(iteration % (SourcePorts / ChurnVipFrames));
            for (int i = 0; i < ChurnVipFrames; i++)
            {
                _batch.TryAdd(_toChurnVip[(round * ChurnVipFrames) + i], _client, now);
            }

            foreach (byte[][] vip in _toOthers)
            {
                _batch.TryAdd(vip[round], _client, now);
            }

            _batch.TryAdd(_arpReplies[(int)(iteration % _arpReplies.Length)], _uplink, now);
            packetsIn += _batch.Count;
            _graph.Run();
            _graph.Flush(ref sink);
            _batch.Clear();
            iteration++;
        }
    }

    private static byte[] Syn(Ip4Address vip, ushort sourcePort) => BenchmarkNode.Frame(
        Cluster.ClientMac, Cluster.GatewayMac, Cluster.ClientIp, vip, IpProtocol.Tcp, sourcePort, Cluster.ServicePort, 64, TcpFlags.Syn);

    /// <summary>A remote node answering for its InternalIP on the uplink: resolves the next hop of its pod CIDR's route.</summary>
    private static byte[] ArpReply(Ip4Address sender, MacAddress senderMac)
    {
        byte[] frame = new byte[60];
        Ip4Address uplinkIp = Ip4Address.Parse("192.168.77.10");
        EthernetHeader.Write(frame, Cluster.UplinkMac, senderMac, EtherType.Arp);
        ArpPacket.Write(frame.AsSpan(EthernetHeader.Size), ArpPacket.OperationReply, senderMac, sender, Cluster.UplinkMac, uplinkIp);
        return frame;
    }

    /// <summary>Counts what the graph hands out; allocates nothing.</summary>
    private struct CountingSink : ITransmitSink
    {
        public long Frames;

        public bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            Frames++;
            return true;
        }
    }
}

/// <summary>What the forwarding thread did during the measured window.</summary>
internal sealed record ForwardingFigures(double Seconds, long Batches, long PacketsIn, long FramesOut, long Drops, double Mpps, long AllocatedBytes, int OtherVips);
