using Dataplane.Pipeline;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// `ctl trace` reads what a worker traces from another thread: records are handed over at the end of a batch, so
/// a reader sees whole packets, every stage of each, never a record torn by a concurrent write.
/// </summary>
[Trait("Category", "unit")]
public sealed class TraceHandOffTests
{
    private static readonly string[] Route = ["ethernet-input", "ip4-input", "source-guard", "conntrack", "bridge", "ip4-lookup", "interface-output"];

    private static byte[] ToRemote(ushort port) => Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, port, 6000);

    private static void RunBatch(Graph graph, ushort client, byte[][] frames, ref int next)
    {
        graph.Batch.Clear();
        for (int i = 0; i < graph.Batch.Capacity; i++)
        {
            graph.Batch.TryAdd(frames[next++ % frames.Length], client, PipelineHarness.T0);
        }

        graph.Run();
    }

    [Fact]
    public void Records_appear_when_the_worker_ends_the_batch_and_the_arming_is_finished_then()
    {
        var dataplane = new NodeDataplane(TestNode.Config());
        Graph graph = dataplane.CreateGraph(new PacketBatch(4));
        Assert.True(dataplane.TryGetPort("client", out Port client));
        byte[][] frames = [.. Enumerable.Range(0, 8).Select(i => ToRemote((ushort)(5000 + i)))];
        int next = 0;

        graph.Tracer.Arm(6);
        Assert.False(graph.Tracer.Finished);
        Assert.Empty(graph.Tracer.Read().Packets);

        RunBatch(graph, client.Id, frames, ref next);
        Assert.False(graph.Tracer.Finished);
        Assert.Equal(2, graph.Tracer.Remaining);
        Assert.Equal(4, graph.Tracer.Read().Packets.Count);

        RunBatch(graph, client.Id, frames, ref next);
        Assert.True(graph.Tracer.Finished);
        TraceSnapshot trace = graph.Tracer.Read();
        Assert.Equal([0L, 1, 2, 3, 4, 5], trace.Packets.Select(static p => p.Id));
        Assert.Equal(6 * Route.Length, trace.Records.Count);

        graph.Tracer.Clear();
        Assert.Empty(graph.Tracer.Read().Records);
    }

    [Fact]
    public void Concurrent_arm_record_and_read_only_ever_return_whole_untorn_packets()
    {
        var dataplane = new NodeDataplane(TestNode.Config());

        // A small ring, so the worker often finds it full and must leave whole batches out.
        var tracer = new PacketTracer(recordCapacity: 96, packetCapacity: 16);
        Graph graph = dataplane.CreateGraph(new PacketBatch(4), tracer);
        Assert.True(dataplane.TryGetPort("client", out Port client));
        int[] route = [.. Route.Select(name => graph.Nodes.Select(static n => n.Name).ToList().IndexOf(name))];
        byte[][] frames = [.. Enumerable.Range(0, 64).Select(i => ToRemote((ushort)(5000 + i)))];
        int length = frames[0].Length;

        bool done = false;
        long batches = 0;
        var worker = new Thread(() =>
        {
            int next = 0;
            var deadline = DateTime.UtcNow.AddSeconds(2);
            while (DateTime.UtcNow < deadline)
            {
                RunBatch(graph, client.Id, frames, ref next);
                batches++;
            }

            Volatile.Write(ref done, true);
        });
        worker.Start();

        var random = new Random(1);
        int reads = 0, packetsSeen = 0;
        try
        {
            while (!Volatile.Read(ref done))
            {
                switch (random.Next(6))
                {
                    case 0:
                        tracer.Arm(random.Next(2) == 0 ? int.MaxValue : random.Next(1, 20));
                        break;
                    case 1:
                        tracer.Disarm();
                        break;
                    case 2:
                        tracer.Clear();
                        break;
                    default:
                        packetsSeen += CheckWhole(tracer.Read(), route, client.Id, length);
                        reads++;
                        break;
                }
            }
        }
        finally
        {
            worker.Join();
        }

        packetsSeen += CheckWhole(tracer.Read(), route, client.Id, length);
        Assert.True(packetsSeen > 0, $"{reads} reads over {batches} batches saw no traced packet");
    }

    /// <summary>Every packet read has its arrival and exactly the route's records, chained stage to stage; returns how many packets.</summary>
    private static int CheckWhole(TraceSnapshot trace, int[] route, ushort client, int length)
    {
        var records = trace.Records.GroupBy(static r => r.PacketId).ToDictionary(static g => g.Key, static g => g.ToList());
        Assert.Equal(trace.Packets.Count, records.Count);
        foreach (TracedPacket packet in trace.Packets)
        {
            Assert.Equal(client, packet.RxPort);
            Assert.Equal(length, packet.Length);
            Assert.Equal(PipelineHarness.T0, packet.Timestamp);
            Assert.True(records.TryGetValue(packet.Id, out List<TraceRecord>? stages), $"packet {packet.Id} has no stage records");
            Assert.Equal(route, stages.Select(static r => (int)r.Node));
            for (int i = 0; i < stages.Count; i++)
            {
                Assert.Equal(i + 1 < stages.Count ? stages[i + 1].Node : TraceRecord.Transmitted, stages[i].Next);
            }
        }

        return trace.Packets.Count;
    }
}
