using System.Buffers.Binary;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Pipeline;
using Dataplane.Replay;

namespace Dataplane.Fuzz.Targets;

/// <summary>
/// Any bytes on any port through the whole graph, as `dataplane replay` runs it (a <see cref="ReplayEngine"/>, no
/// I/O). The invariant is the one an operator relies on: no exception, and every frame meets exactly one fate
/// that a counter shows, forwarded (queued for a port) or dropped under a reason; none vanishes, none counts
/// twice as a drop, and what is sent stays inside its buffer slot and goes to a port that exists.
/// </summary>
/// <remarks>
/// Input: one byte choosing the node (<see cref="Nodes"/>), then frames, each as [port index, length (2 bytes, big
/// endian), bytes]; the last frame takes what is left when its length runs past the end. The frames run twice,
/// on fresh engines: one per batch, where each frame's fate is checked on its own, and in batches of
/// <see cref="BatchSize"/>, where the fates are checked per batch (stages walk vectors; a bug may need two
/// packets in one). Frames are 1 ms apart, so conntrack and neighbor state build up as in a capture.
/// </remarks>
public static class PipelineTarget
{
    /// <summary>Small, as Debug builds of the runtime use small buffers: batch edges are met often.</summary>
    public const int BatchSize = 8;

    private const long StartNanoseconds = 1_000_000_000_000;
    private const long FrameIntervalNanoseconds = 1_000_000;

    /// <summary>A routed node (dual stack, host port, every kind of service) and a VXLAN node, parsed once.</summary>
    public static IReadOnlyList<NodeConfig> Nodes { get; } = [Parse(FuzzNodes.Routed, "routed"), Parse(FuzzNodes.Vxlan, "vxlan")];

    public static void Run(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        NodeConfig node = Nodes[input[0] % Nodes.Count];
        List<(int Port, int Offset, int Length)> frames = Split(input);
        RunOneByOne(node, input, frames);
        RunInBatches(node, input, frames);
    }

    private static void RunOneByOne(NodeConfig node, byte[] input, List<(int Port, int Offset, int Length)> frames)
    {
        var engine = new ReplayEngine(node, batchSize: 1);
        var sink = new CheckingSink();
        for (int i = 0; i < frames.Count; i++)
        {
            long dropsBefore = Drops(engine.Graph);
            if (!Add(engine, input, frames[i], i))
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

            engine.Graph.Flush(ref sink);
            engine.Batch.Clear();
        }
    }

    private static void RunInBatches(NodeConfig node, byte[] input, List<(int Port, int Offset, int Length)> frames)
    {
        var engine = new ReplayEngine(node, batchSize: BatchSize);
        var sink = new CheckingSink();
        for (int first = 0; first < frames.Count; first += BatchSize)
        {
            long dropsBefore = Drops(engine.Graph);
            int added = 0;
            for (int i = first; i < Math.Min(first + BatchSize, frames.Count); i++)
            {
                added += Add(engine, input, frames[i], i) ? 1 : 0;
            }

            engine.Graph.Run();
            int sent = Transmitted(engine.Batch);
            long dropped = Drops(engine.Graph) - dropsBefore;
            if (sent + dropped < added || sent > added || dropped > added)
            {
                throw new FuzzInvariantException(
                    $"batch of frames {first}..{first + added - 1}: {sent} sent and {dropped} counted as drops for {added} frames");
            }

            engine.Graph.Flush(ref sink);
            engine.Batch.Clear();
        }
    }

    /// <summary>Frames as the input lays them out: [port, length hi, length lo, bytes...] after the node byte.</summary>
    public static List<(int Port, int Offset, int Length)> Split(ReadOnlySpan<byte> input)
    {
        var frames = new List<(int, int, int)>();
        int at = 1;
        while (at + 3 <= input.Length)
        {
            int port = input[at];
            int length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(input[(at + 1)..]), input.Length - at - 3);
            frames.Add((port, at + 3, length));
            at += 3 + length;
        }

        return frames;
    }

    private static bool Add(ReplayEngine engine, byte[] input, (int Port, int Offset, int Length) frame, int index)
    {
        IReadOnlyList<Port> ports = engine.Dataplane.Ports.Current;
        ushort port = ports[frame.Port % ports.Count].Id;
        // A frame larger than a slot is refused here as the I/O layer refuses it (counted there, never truncated).
        return engine.Batch.TryAdd(input.AsSpan(frame.Offset, frame.Length), port, StartNanoseconds + (index * FrameIntervalNanoseconds));
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

    private static NodeConfig Parse(string yaml, string name) =>
        NodeConfigLoader.Parse(yaml, $"fuzz node {name}").ThrowIfInvalid();

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
