using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Pipeline;

namespace Dataplane.Replay;

/// <summary>
/// The offline twin of the daemon: builds the same <see cref="NodeDataplane"/> and graph, feeds frames from a
/// source as if they arrived on their ports, and hands output to a sink. The pipeline clock is each frame's
/// timestamp, so timeouts are as deterministic as the capture. Tests drive the pipeline through this too.
/// </summary>
public sealed class ReplayEngine
{
    public ReplayEngine(NodeConfig config, int batchSize = 256, int slotSize = 9216 + PacketBatch.DefaultHeadroom)
    {
        Dataplane = new NodeDataplane(config);
        Batch = new PacketBatch(batchSize, slotSize);
        Graph = Dataplane.CreateGraph(Batch);
    }

    public NodeDataplane Dataplane { get; }

    public PacketBatch Batch { get; }

    public Graph Graph { get; }

    /// <summary>Input frames larger than a batch slot; skipped (and counted here), never truncated.</summary>
    public long FramesTooLarge { get; private set; }

    public long FramesRead { get; private set; }

    /// <summary>
    /// Runs the whole source through the pipeline. <paramref name="afterBatch"/> sees the graph after each
    /// batch, before it is cleared (the CLI prints traces there).
    /// </summary>
    public void Run<TSink>(IReplaySource source, ref TSink sink, Action<Graph>? afterBatch = null)
        where TSink : struct, ITransmitSink
    {
        while (true)
        {
            bool more = true;
            while (!Batch.IsFull && (more = source.TryRead(out ushort port, out long timestamp, out ReadOnlySpan<byte> frame)))
            {
                FramesRead++;
                if (!Batch.TryAdd(frame, port, timestamp))
                {
                    FramesTooLarge++;
                }
            }

            if (Batch.Count > 0)
            {
                Graph.Run();
                Graph.Flush(ref sink);
                afterBatch?.Invoke(Graph);
                Batch.Clear();
            }

            if (!more)
            {
                return;
            }
        }
    }

    public PipelineStats Stats() => PipelineStats.From([Graph], Dataplane.Ports);
}
