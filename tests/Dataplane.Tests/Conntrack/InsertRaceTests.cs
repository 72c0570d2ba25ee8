using System.Buffers.Binary;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Pipeline;
using Dataplane.Replay;
using Dataplane.Tests.Pipeline;
using Dataplane.Tables;
using static Dataplane.Tests.Conntrack.Nat;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// The kernel's UDP insert race (kubernetes#56903): two packets of one new flow handled at the same time by two
/// workers must end on one conntrack entry and one backend, never two entries, and never a dropped packet.
/// Two real worker graphs share one dataplane's tables. The race is forced, not hoped for: the table's test hook
/// runs between worker A's lookup (a miss) and its insert, and there worker B handles the same flow's packet
/// completely. A's insert must then find B's entry and join it.
/// </summary>
[Trait("Category", "unit")]
public class InsertRaceTests
{
    private const int Flows = 64;

    [Fact]
    public void Packet_whose_flow_another_worker_inserted_after_its_lookup_missed_joins_that_entry_and_backend()
    {
        var engine = new ReplayEngine(Nat.Config(TwoWeb), batchSize: 1);
        NodeDataplane dataplane = engine.Dataplane;
        Graph a = engine.Graph;
        Graph b = dataplane.CreateGraph(new PacketBatch(1, engine.Batch.SlotSize));
        ushort client = engine.PortId("client");

        // What each worker sent, by the flow's source port: the backend address it was DNATed to.
        var sentTo = new Dictionary<ushort, uint>[2] { [], [] };
        for (int i = 0; i < Flows; i++)
        {
            byte[] frame = Udp4(ClientMac, GatewayMac, ClientIp, Vip, (ushort)(10000 + i), 53, Dns(false));
            bool raced = false;
            dataplane.Conntrack.BeforeInsertForTest = () =>
            {
                dataplane.Conntrack.BeforeInsertForTest = null;
                Run(b, frame, client, sentTo[1]);
                raced = true;
            };
            try
            {
                Run(a, frame, client, sentTo[0]);
            }
            finally
            {
                dataplane.Conntrack.BeforeInsertForTest = null;
            }

            Assert.True(raced, $"flow {i}: worker A never reached the insert");
        }

        StageStats joiner = Stage(a, dataplane), winner = Stage(b, dataplane);
        Assert.Equal(Flows, joiner.Events["insert-race-joined"]);
        Assert.Equal(0, joiner.Events["new-flows"]);
        Assert.Equal(Flows, winner.Events["new-flows"]);
        Assert.Equal(0, winner.Events["insert-race-joined"]);
        Assert.All(joiner.Drops.Concat(winner.Drops), d => Assert.Equal(0, d.Value));

        Assert.Equal(Flows, dataplane.Conntrack.Count);
        Assert.Equal(Flows, sentTo[0].Count);
        Assert.Equal(Flows, sentTo[1].Count);
        foreach ((ushort port, uint backend) in sentTo[0])
        {
            Assert.Equal(backend, sentTo[1][port]);
        }

        // The pick the joining worker made was released: one open connection per entry.
        Assert.True(dataplane.Services.TryLookup(new ServiceKey(Dataplane.Packets.Ip4Address.Parse(Vip), L4Protocol.Udp, 53), out ServicePort? service));
        Assert.Equal(Flows, service.OpenConnections(0) + service.OpenConnections(1));
    }

    private static void Run(Graph graph, byte[] frame, ushort port, Dictionary<ushort, uint> sent)
    {
        graph.Batch.Clear();
        graph.Batch.TryAdd(frame, port, T0);
        graph.Run();
        var sink = new Capture(sent);
        graph.Flush(ref sink);
    }

    private static StageStats Stage(Graph graph, NodeDataplane dataplane)
        => PipelineStats.From([graph], dataplane.Ports).Stages.Single(s => s.Name == "conntrack");

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
