using System.Buffers.Binary;
using Dataplane.Config;
using Dataplane.Model;

namespace Dataplane.Fuzz.Targets;

/// <summary>
/// Any bytes on any port through the whole graph, as `dataplane replay` runs it (no I/O). The invariant is the one
/// an operator relies on: no exception, and every frame meets a fate that a counter shows, forwarded (queued for
/// a port) or dropped under a reason; none vanishes, none counts twice as a drop, and what is sent stays inside
/// its buffer slot and goes to a port that exists. <see cref="PipelineRunner"/> runs and checks.
/// </summary>
/// <remarks>
/// Input: one byte choosing the node (<see cref="Nodes"/>), then frames, each as [port index, length (2 bytes, big
/// endian), bytes]; the last frame takes what is left when its length runs past the end. The frames run twice:
/// one per batch, where each frame's fate is checked on its own, and in batches of
/// <see cref="PipelineRunner.BatchSize"/>, where the fates are checked per batch (stages walk vectors; a bug may need
/// two packets in one). Frames are 1 ms apart, so conntrack and neighbor state build up as in a capture.
/// </remarks>
public static class PipelineTarget
{
    /// <summary>A routed node (dual stack, host port, every kind of service) and a VXLAN node, parsed once.</summary>
    public static IReadOnlyList<NodeConfig> Nodes { get; } = [Parse(FuzzNodes.Routed, "routed"), Parse(FuzzNodes.Vxlan, "vxlan")];

    /// <summary>On dataplanes built for this input alone: what the corpus tests and `Dataplane.Fuzz pipeline FILE` run.</summary>
    public static void Run(byte[] input) => new PipelineRunner(reuse: false).Run(input);

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

    private static NodeConfig Parse(string yaml, string name) =>
        NodeConfigLoader.Parse(yaml, $"fuzz node {name}").ThrowIfInvalid();
}
