using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Nodes;
using Dataplane.Pipeline;
using Xunit.Abstractions;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// The steady-state packet path allocates nothing: a realistic mix (bridged, routed to another node, a
/// service connection with replies from its backend, ARP and ping to the gateway, new flows, drops and ICMP
/// errors) pushed through the full graph the way a worker does, after a warm-up, leaves
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> where it was.
/// </summary>
[Trait("Category", "unit")]
public sealed class ZeroAllocationTests(ITestOutputHelper output)
{
    private const int WarmupIterations = 3_000;
    private const int MeasuredIterations = 4_000;
    private const long Step = 10_000_000; // 10 ms of pipeline clock per batch

    /// <summary>Counts what the graph hands out; allocates nothing.</summary>
    private struct CountingSink : ITransmitSink
    {
        public long Frames;
        public long Bytes;

        public bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            Frames++;
            Bytes += batch.Meta(packet).Length;
            return true;
        }
    }

    private sealed record Traffic((ushort Port, byte[] Frame)[] Steady, (ushort Port, byte[] Frame)[][] NewFlows);

    /// <summary>
    /// UDP flows live 1 s, so the rotating new-flow ports find their old entries expired and insert again.
    /// <paramref name="accounting"/>: conntrack.accounting, whose per-packet counting must not allocate either.
    /// </summary>
    private static NodeConfig Config(bool accounting)
    {
        // The default services plus a NodePort one, and a default route: new external and masqueraded flows too.
        string yaml = Yaml(DefaultServices + $$"""

              - name: dns-np
                type: NodePort
                clusterIP: 10.96.0.53
                ports: [ { protocol: UDP, port: 53, targetPort: 5353, nodePort: {{NodePort}} } ]
                endpoints: [ { ip: {{Web1Ip}} } ]
            """);
        const string conntrack = "conntrack:\n  maxEntries: 4096\n";
        string uplink = $"mac: {UplinkMac} }}\n";
        Assert.Contains(conntrack, yaml);
        Assert.Contains(uplink, yaml);
        yaml = yaml.Replace(uplink, $"mac: {UplinkMac}, gateway: {RouterIp}, gatewayMac: {RouterMac} }}\n", StringComparison.Ordinal);
        return NodeConfigLoader.Parse(yaml.Replace(conntrack, conntrack + (accounting ? "  accounting: true\n" : "") + "  timeouts: { udp: 1, udpStream: 1 }\n  perPod: { maxEntries: 4096 }\n", StringComparison.Ordinal), "alloc.yaml").ThrowIfInvalid();
    }

    private const string RouterIp = "192.168.77.1";
    private const string RouterMac = "02:00:00:00:77:01";
    private const string Outside = "203.0.113.5";
    private const ushort NodePort = 30053;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Full_pipeline_allocates_nothing_per_packet_in_steady_state(bool accounting)
    {
        var dataplane = new NodeDataplane(Config(accounting));
        Assert.Equal(accounting, dataplane.Conntrack.Accounting);
        var batch = new PacketBatch(256);
        Graph graph = dataplane.CreateGraph(batch);
        var sink = new CountingSink();
        long now = PipelineHarness.T0;

        Traffic traffic = BuildTraffic(dataplane, graph, batch, ref sink, ref now);
        int iteration = 0;
        for (; iteration < WarmupIterations; iteration++)
        {
            Iterate(graph, batch, traffic, iteration, ref sink, ref now);
        }

        PipelineStats beforeStats = PipelineStats.From([graph], dataplane.Ports);
        long packetsBefore = beforeStats.Packets;
        long sentBefore = sink.Frames;

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < MeasuredIterations; i++, iteration++)
        {
            Iterate(graph, batch, traffic, iteration, ref sink, ref now);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        PipelineStats afterStats = PipelineStats.From([graph], dataplane.Ports);
        long packets = afterStats.Packets - packetsBefore;
        output.WriteLine($"{packets:N0} packets in {MeasuredIterations:N0} batches ({sink.Frames - sentBefore:N0} frames out): {allocated} bytes allocated");
        foreach (string line in Moved(beforeStats, afterStats))
        {
            output.WriteLine("  " + line);
        }

        Assert.True(packets >= 100_000, $"only {packets} packets pushed");
        Assert.Equal(0, allocated);

        // The measured loop really took every path of the mix.
        Assert.True(Grew(beforeStats, afterStats, "conntrack", "new-flows", MeasuredIterations), "new flows");
        Assert.True(Grew(beforeStats, afterStats, "conntrack", "service-flows", MeasuredIterations), "new service flows");
        Assert.True(Grew(beforeStats, afterStats, "conntrack", "external-flows", MeasuredIterations), "new NodePort flows");
        Assert.True(Grew(beforeStats, afterStats, "conntrack", "masqueraded", MeasuredIterations), "new masqueraded flows");
        Assert.True(Grew(beforeStats, afterStats, "arp", "replies-sent", MeasuredIterations), "ARP replies");
        Assert.True(Grew(beforeStats, afterStats, "ip-local", "echo-replies", MeasuredIterations), "echo replies");
        Assert.True(Grew(beforeStats, afterStats, "icmp-error", "errors-sent", MeasuredIterations), "ICMP errors");
        Assert.True(Grew(beforeStats, afterStats, "neighbor-probe", "arp-requests-sent", MeasuredIterations * Step / NeighborProbe.IntervalNanoseconds), "next-hop probes");
        Assert.True(afterStats.Drops - beforeStats.Drops >= 3L * MeasuredIterations, "drops");
        Assert.Equal(0, afterStats.Stages.Single(static s => s.Name == "conntrack").Drops.Values.Sum() - beforeStats.Stages.Single(static s => s.Name == "conntrack").Drops.Values.Sum());
    }

    private static void Iterate(Graph graph, PacketBatch batch, Traffic traffic, int iteration, ref CountingSink sink, ref long now)
    {
        now += Step;

        // As a worker does once per loop: neighbor-probe asks for node-c (never resolved here) once a second.
        graph.Poll(now);
        foreach ((ushort port, byte[] frame) in traffic.Steady)
        {
            batch.TryAdd(frame, port, now);
        }

        foreach ((ushort port, byte[] frame) in traffic.NewFlows[iteration % traffic.NewFlows.Length])
        {
            batch.TryAdd(frame, port, now);
        }

        graph.Run();
        graph.Flush(ref sink);
        batch.Clear();
    }

    /// <summary>
    /// Opens the service connection (SYN, SYN-ACK, ACK) to learn which backend Maglev picked, then builds the
    /// steady mix and the rotating new flows.
    /// </summary>
    private static Traffic BuildTraffic(NodeDataplane dataplane, Graph graph, PacketBatch batch, ref CountingSink sink, ref long now)
    {
        ushort client = Port(dataplane, "client");
        ushort web1 = Port(dataplane, "web-1");
        ushort uplink = Port(dataplane, "uplink");

        byte[] syn = Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, syn: true, seq: 1000);
        var capture = new List<byte[]>();
        RunOnce(graph, batch, client, syn, ref now, capture);
        byte[] dnatted = Assert.Single(capture);
        string backend = Frames.Parse(dnatted).PayloadPacket is PacketDotNet.IPv4Packet ip ? ip.DestinationAddress.ToString() : "";
        Assert.Contains(backend, new[] { Web1Ip, RemotePodIp });

        // A same-node backend answers the client's MAC directly (bridged); a remote one comes back over the uplink.
        bool local = backend == Web1Ip;
        ushort port = local ? web1 : uplink;
        byte[] Reply(bool syn, uint seq, uint ack, byte[]? data) => local
            ? Frames.Tcp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 8080, 40000, syn: syn, ack: true, seq: seq, ackNumber: ack, data: data)
            : Frames.Tcp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 8080, 40000, syn: syn, ack: true, seq: seq, ackNumber: ack, data: data);
        RunOnce(graph, batch, port, Reply(true, 5000, 1001, null), ref now, capture);
        RunOnce(graph, batch, client, Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, ack: true, seq: 1001, ackNumber: 5001), ref now, capture);
        Assert.Equal(3, capture.Count);

        var steady = new List<(ushort, byte[])>();
        for (int i = 0; i < 4; i++)
        {
            steady.Add((client, Frames.Udp4(ClientMac, Web1Mac, ClientIp, Web1Ip, 5000, 6000, data: new byte[64])));
            steady.Add((web1, Frames.Udp4(Web1Mac, ClientMac, Web1Ip, ClientIp, 6000, 5000, data: new byte[64])));
            steady.Add((client, Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5001, 6001, data: new byte[200])));
            steady.Add((uplink, Frames.Udp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 6001, 5001, data: new byte[200])));
            steady.Add((client, Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, ack: true, seq: 1001, ackNumber: 5001, data: new byte[100])));
            steady.Add((port, Reply(false, 5001, 1101, new byte[1000])));
        }

        steady.Add((client, Frames.ArpRequest(ClientMac, ClientIp, GatewayIp)));
        steady.Add((client, Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, GatewayIp)));
        steady.Add((client, Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5002, 6002, ttl: 1)));
        steady.Add((client, Frames.Udp4(ClientMac, GatewayMac, Web2Ip, RemotePodIp, 5003, 6003)));
        steady.Add((client, Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5004, 6004)[..30]));
        steady.Add((client, Build.Raw(ClientMac, Web1Mac, 0x88B5, new byte[46])));

        // New flows, from a rotating source port: a DNS query to the service, a UDP flow to another node, one to the
        // outside (masqueraded) and one from the outside to a node port (client SNATed to the node).
        var newFlows = new (ushort, byte[])[2000][];
        for (int i = 0; i < newFlows.Length; i++)
        {
            ushort sourcePort = (ushort)(20000 + i);
            newFlows[i] =
            [
                (client, Frames.Udp4(ClientMac, GatewayMac, ClientIp, Vip, sourcePort, 53, data: new byte[32])),
                (client, Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, sourcePort, 7000, data: new byte[32])),
                (client, Frames.Udp4(ClientMac, GatewayMac, ClientIp, Outside, sourcePort, 7000, data: new byte[32])),
                (uplink, Frames.Udp4(RouterMac, UplinkMac, Outside, UplinkIp, sourcePort, NodePort, data: new byte[32])),
            ];
        }

        return new Traffic([.. steady], newFlows);
    }

    private static void RunOnce(Graph graph, PacketBatch batch, ushort port, byte[] frame, ref long now, List<byte[]> capture)
    {
        now += Step;
        Assert.True(batch.TryAdd(frame, port, now));
        graph.Run();
        foreach (ushort p in batch.Transmit)
        {
            capture.Add(batch.Frame(p).ToArray());
        }

        batch.Clear();
    }

    private static ushort Port(NodeDataplane dataplane, string name) => dataplane.TryGetPort(name, out Port port) ? port.Id : throw new ArgumentException(name);

    private static bool Grew(PipelineStats before, PipelineStats after, string stage, string counter, long atLeast)
        => after.Stages.Single(s => s.Name == stage).Events[counter] - before.Stages.Single(s => s.Name == stage).Events[counter] >= atLeast;

    private static IEnumerable<string> Moved(PipelineStats before, PipelineStats after)
    {
        foreach (StageStats stage in after.Stages)
        {
            StageStats old = before.Stages.Single(s => s.Name == stage.Name);
            IEnumerable<string> notes = stage.Drops.Where(d => d.Value != old.Drops[d.Key]).Select(d => $"drop {d.Key} {d.Value - old.Drops[d.Key]}")
                .Concat(stage.Events.Where(e => e.Value != old.Events[e.Key]).Select(e => $"{e.Key} {e.Value - old.Events[e.Key]}"));
            yield return $"{stage.Name,-17} {stage.Packets - old.Packets,9}  {string.Join(", ", notes)}";
        }
    }
}
