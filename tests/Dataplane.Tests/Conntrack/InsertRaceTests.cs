using System.Buffers.Binary;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Pipeline;
using Dataplane.Replay;
using Dataplane.Tables;
using Xunit.Abstractions;
using static Dataplane.Tests.Conntrack.Nat;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// The kernel's UDP insert race (kubernetes#56903): two packets of one new flow handled at the same time by two
/// workers must end on one conntrack entry and one backend, never two entries, and never a dropped packet.
/// Two real worker graphs share one dataplane's tables and run the same new flows in lockstep, two packets per
/// batch and a barrier per batch, so their lookups and inserts of one flow often overlap. How often depends on the
/// scheduler (it is reported, not asserted); the outcome may not.
/// </summary>
public class InsertRaceTests(ITestOutputHelper output)
{
    private const int BatchSize = 2;
    private const int Rounds = 2048;

    [Fact]
    public void Two_workers_racing_on_the_same_new_udp_flows_end_on_one_entry_and_one_backend_per_flow()
    {
        var engine = new ReplayEngine(Nat.Config(TwoWeb), BatchSize);
        NodeDataplane dataplane = engine.Dataplane;
        Graph[] workers = [engine.Graph, dataplane.CreateGraph(new PacketBatch(BatchSize, engine.Batch.SlotSize))];
        ushort client = engine.PortId("client");
        byte[][] frames = [.. Enumerable.Range(0, Rounds * BatchSize).Select(static i => Udp4(ClientMac, GatewayMac, ClientIp, Vip, (ushort)(10000 + i), 53, Dns(false)))];

        // What each worker sent, by the flow's source port: the backend address it was DNATed to.
        var sentTo = new Dictionary<ushort, uint>[2] { [], [] };
        using var start = new Barrier(2);
        Thread[] threads = [.. Enumerable.Range(0, 2).Select(w => new Thread(() =>
        {
            Graph graph = workers[w];
            var sink = new Capture(sentTo[w]);
            for (int round = 0; round < Rounds; round++)
            {
                graph.Batch.Clear();
                for (int i = 0; i < BatchSize; i++)
                {
                    graph.Batch.TryAdd(frames[(round * BatchSize) + i], client, T0);
                }

                start.SignalAndWait();
                graph.Run();
                graph.Flush(ref sink);
            }
        }))];

        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(TimeSpan.FromMinutes(1)));
        }

        int flows = frames.Length;
        StageStats conntrack = PipelineStats.From(workers, dataplane.Ports).Stages.Single(s => s.Name == "conntrack");
        output.WriteLine($"{flows} flows, each sent by both workers: {conntrack.Events["insert-race-joined"]} packets joined an entry "
            + "the other worker inserted after their own lookup missed");

        Assert.Equal(flows, dataplane.Conntrack.Count);
        Assert.Equal(flows, conntrack.Events["new-flows"]);
        Assert.All(conntrack.Drops, d => Assert.Equal(0, d.Value));
        Assert.Equal(flows, sentTo[0].Count);
        Assert.Equal(flows, sentTo[1].Count);
        foreach ((ushort port, uint backend) in sentTo[0])
        {
            Assert.Equal(backend, sentTo[1][port]);
        }

        // Every pick the loser of a race made was released: one open connection per entry.
        Assert.True(dataplane.Services.TryLookup(new ServiceKey(Dataplane.Packets.Ip4Address.Parse(Vip), L4Protocol.Udp, 53), out ServicePort? service));
        Assert.Equal(flows, service.OpenConnections(0) + service.OpenConnections(1));
    }

    private readonly struct Capture(Dictionary<ushort, uint> sent) : ITransmitSink
    {
        public bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            ReadOnlySpan<byte> frame = batch.Frame(packet);
            ushort sourcePort = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(14 + 20));
            sent.Add(sourcePort, BinaryPrimitives.ReadUInt32BigEndian(frame.Slice(14 + 16)));
            return true;
        }
    }
}
