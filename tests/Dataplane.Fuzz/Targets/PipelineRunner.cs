using Dataplane.Conntrack;
using Dataplane.Model;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Fuzz.Targets;

/// <summary>
/// Runs <see cref="PipelineTarget"/> inputs and checks each frame's fate. Building a node's dataplane takes about
/// 100 ms (the IPv4 FIB's 16M-entry first level and the reserve for learned routes are allocated every time), so
/// under afl the runner keeps its dataplanes from one input to the next (<c>reuse</c>) and makes each input start
/// from the state a fresh one has: the clock jumps three days ahead, past every timeout (conntrack, MAC and
/// neighbor aging, ICMP and ARP throttles), expired flows are swept (which frees their SNAT ports and backend
/// connection counts), next hops learned from ARP and NDP are forgotten, and the stages are new. What stays is
/// layout only (which conntrack slot a flow gets). afl's stability figure shows whether that holds.
/// </summary>
public sealed class PipelineRunner(bool reuse)
{
    /// <summary>Small, as Debug builds of the runtime use small buffers: batch edges are met often.</summary>
    public const int BatchSize = 8;

    private const long StartNanoseconds = 1_000_000_000_000;
    private const long FrameIntervalNanoseconds = 1_000_000;
    private const long InputSpacingNanoseconds = 3L * 86_400 * 1_000_000_000;

    /// <summary>Then a dataplane is built afresh: the clock stays far from overflowing (10,000 x 3 days is 2.6e18 ns).</summary>
    private const int InputsPerDataplane = 10_000;

    // [node, mode]: mode 0 runs one frame per batch, mode 1 BatchSize frames per batch.
    private readonly Engine?[,] _engines = new Engine?[PipelineTarget.Nodes.Count, 2];

    /// <summary>Runs and checks one input; returns the fates seen (frame by frame, then batch by batch) as "sent/dropped".</summary>
    public List<string> Run(byte[] input)
    {
        var fates = new List<string>();
        if (input.Length == 0)
        {
            return fates;
        }

        int node = input[0] % PipelineTarget.Nodes.Count;
        List<(int Port, int Offset, int Length)> frames = PipelineTarget.Split(input);
        RunOneByOne(EngineFor(node, 0, batchSize: 1), input, frames, fates);
        RunInBatches(EngineFor(node, 1, BatchSize), input, frames, fates);
        return fates;
    }

    private Engine EngineFor(int node, int mode, int batchSize)
    {
        Engine? engine = _engines[node, mode];
        if (engine is null || !reuse || engine.Inputs == InputsPerDataplane)
        {
            engine = new Engine(new NodeDataplane(PipelineTarget.Nodes[node]), batchSize);
            _engines[node, mode] = engine;
        }
        else
        {
            engine.StartNextInput();
        }

        return engine;
    }

    private static void RunOneByOne(Engine engine, byte[] input, List<(int Port, int Offset, int Length)> frames, List<string> fates)
    {
        var sink = new CheckingSink();
        for (int i = 0; i < frames.Count; i++)
        {
            long dropsBefore = Drops(engine.Graph);
            if (!engine.Add(input, frames[i], i))
            {
                continue;
            }

            engine.Graph.Run();
            int sent = Transmitted(engine.Batch);
            long dropped = Drops(engine.Graph) - dropsBefore;
            // A frame may be both: a packet spent on an ARP request for its unresolved next hop counts as dropped
            // (next-hop-unresolved) and is sent as the request.
            if (sent + dropped == 0 || sent > 1 || dropped > 1)
            {
                throw new FuzzInvariantException(
                    $"frame {i} (port {frames[i].Port}, {frames[i].Length} bytes): sent {sent} time(s) and counted as {dropped} drop(s); expected at least one fate and each at most once");
            }

            fates.Add($"{sent}/{dropped}");
            engine.Graph.Flush(ref sink);
            engine.Batch.Clear();
        }
    }

    private static void RunInBatches(Engine engine, byte[] input, List<(int Port, int Offset, int Length)> frames, List<string> fates)
    {
        var sink = new CheckingSink();
        for (int first = 0; first < frames.Count; first += BatchSize)
        {
            long dropsBefore = Drops(engine.Graph);
            int added = 0;
            for (int i = first; i < Math.Min(first + BatchSize, frames.Count); i++)
            {
                added += engine.Add(input, frames[i], i) ? 1 : 0;
            }

            engine.Graph.Run();
            int sent = Transmitted(engine.Batch);
            long dropped = Drops(engine.Graph) - dropsBefore;
            if (sent + dropped < added || sent > added || dropped > added)
            {
                throw new FuzzInvariantException(
                    $"batch of frames {first}..{first + added - 1}: {sent} sent and {dropped} counted as drops for {added} frames");
            }

            fates.Add($"{sent}/{dropped}");
            engine.Graph.Flush(ref sink);
            engine.Batch.Clear();
        }
    }

    /// <summary>Distinct packets queued for sending; a packet queued twice would be sent twice.</summary>
    private static int Transmitted(PacketBatch batch)
    {
        ReadOnlySpan<ushort> transmit = batch.Transmit;
        for (int i = 0; i < transmit.Length; i++)
        {
            if (transmit[i] >= batch.Count || transmit[..i].Contains(transmit[i]))
            {
                throw new FuzzInvariantException($"packet {transmit[i]} queued for sending twice, or past the batch's {batch.Count} packets");
            }
        }

        return transmit.Length;
    }

    private static long Drops(Graph graph)
    {
        long drops = 0;
        foreach (Node node in graph.Nodes)
        {
            drops += node.Counters.TotalDrops;
        }

        return drops;
    }

    /// <summary>One node's dataplane with the batch and stages that run it, as <see cref="Replay.ReplayEngine"/> builds them.</summary>
    private sealed class Engine
    {
        private readonly NodeDataplane _dataplane;
        private readonly ConntrackSweeper _sweeper;

        public Engine(NodeDataplane dataplane, int batchSize)
        {
            _dataplane = dataplane;
            _sweeper = new ConntrackSweeper(dataplane.Conntrack);
            Batch = new PacketBatch(batchSize, 9216 + PacketBatch.DefaultHeadroom);
            Graph = dataplane.CreateGraph(Batch);
        }

        public PacketBatch Batch { get; }

        public Graph Graph { get; private set; }

        /// <summary>Inputs this dataplane has run before the current one.</summary>
        public int Inputs { get; private set; }

        private long Start => StartNanoseconds + (Inputs * InputSpacingNanoseconds);

        public void StartNextInput()
        {
            Inputs++;
            Batch.Clear();
            Graph = _dataplane.CreateGraph(Batch);
            _sweeper.Sweep(Start, _sweeper.BucketCount);
            AdjacencyTable adjacencies = _dataplane.Adjacencies;
            for (int i = 0; i < adjacencies.Count; i++)
            {
                ref Adjacency adjacency = ref adjacencies[i];
                adjacency.LastSolicit = 0;
                if (adjacency.Kind == AdjacencyKind.NextHop && !adjacency.Static)
                {
                    adjacency.Mac = 0;
                }
            }
        }

        public bool Add(byte[] input, (int Port, int Offset, int Length) frame, int index)
        {
            IReadOnlyList<Port> ports = _dataplane.Ports.Current;
            ushort port = ports[frame.Port % ports.Count].Id;
            // A frame larger than a slot is refused here as the I/O layer refuses it (counted there, never truncated).
            return Batch.TryAdd(input.AsSpan(frame.Offset, frame.Length), port, Start + (index * FrameIntervalNanoseconds));
        }
    }

    /// <summary>Checks each frame the graph hands out: inside its slot, at least an Ethernet header, to a port that exists.</summary>
    private struct CheckingSink : ITransmitSink
    {
        public readonly bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            ref PacketMeta meta = ref batch.Meta(packet);
            if (meta.Offset < 0 || meta.Length < Packets.EthernetHeader.Size || meta.Offset + meta.Length > batch.SlotSize)
            {
                throw new FuzzInvariantException($"packet {packet} sent with offset {meta.Offset} and length {meta.Length} in a slot of {batch.SlotSize} bytes");
            }

            return true;
        }
    }
}
