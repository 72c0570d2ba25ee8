using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Pipeline;
using Dataplane.Replay;

namespace Dataplane.Tests.Pipeline;

/// <summary>A frame the pipeline sent, with the port it left on.</summary>
internal sealed record Sent(string Port, byte[] Frame)
{
    public override string ToString() => $"{Port}: {Convert.ToHexString(Frame)}";
}

internal static class ReplayEngineExtensions
{
    /// <summary>Port id by name (a pod name, or "uplink"), with the valid names in the error.</summary>
    public static ushort PortId(this ReplayEngine engine, string name) => engine.Dataplane.TryGetPort(name, out Port port)
        ? port.Id
        : throw new ArgumentException($"no port named '{name}' (ports: {string.Join(", ", engine.Dataplane.Ports.Select(static p => p.Name))})", nameof(name));
}

/// <summary>
/// Drives frames through the same <see cref="ReplayEngine"/> `dataplane replay` uses, from memory, and
/// collects what each port sent. Small batches by default (as Debug builds do) to shake out batch edges.
/// </summary>
internal sealed class PipelineHarness
{
    /// <summary>Base clock for tests: 2026-01-01, in ns.</summary>
    public const long T0 = 1_767_225_600_000_000_000;

    public PipelineHarness(NodeConfig? config = null, int batchSize = 4)
    {
        Engine = new ReplayEngine(config ?? TestNode.Config(), batchSize);
    }

    public ReplayEngine Engine { get; }

    public NodeDataplane Dataplane => Engine.Dataplane;

    /// <summary>Sends one frame at <paramref name="timestamp"/> (ns; default <see cref="T0"/>) and returns everything output.</summary>
    public List<Sent> Send(string port, byte[] frame, long timestamp = T0) => Send([(port, frame, timestamp)]);

    public List<Sent> Send(IEnumerable<(string Port, byte[] Frame, long Timestamp)> frames)
        => Send([.. frames.Select(f => (Engine.PortId(f.Port), f.Timestamp, f.Frame))]);

    /// <summary>Sends one frame as received on port id <paramref name="port"/>, which need not be a port now.</summary>
    public List<Sent> SendOnPortId(ushort port, byte[] frame, long timestamp = T0) => Send([(port, timestamp, frame)]);

    private List<Sent> Send((ushort Port, long Timestamp, byte[] Frame)[] frames)
    {
        var source = new MemorySource(frames);
        var sink = new CaptureSink(Dataplane.Ports, []);
        Engine.Run(source, ref sink);
        return sink.Sent;
    }

    /// <summary>
    /// What a worker does once per loop: <see cref="Graph.Poll"/> at <paramref name="now"/>, and if it added frames,
    /// runs and flushes the batch. Returns what was sent (empty when nothing was due).
    /// </summary>
    public List<Sent> Poll(long now)
    {
        Graph graph = Engine.Graph;
        var sink = new CaptureSink(Dataplane.Ports, []);
        if (graph.Poll(now))
        {
            graph.Run();
            graph.Flush(ref sink);
            graph.Batch.Clear();
        }

        return sink.Sent;
    }

    public long Drops(string stage, string reason) => Stage(stage).Drops[reason];

    public long Event(string stage, string name) => Stage(stage).Events[name];

    public StageStats Stage(string name) => Engine.Stats().Stages.Single(s => s.Name == name);

    /// <summary>Every non-zero drop counter as "stage/reason", for asserting that nothing else dropped.</summary>
    public string[] AllDrops() => [.. Engine.Stats().Stages.SelectMany(s => s.Drops.Where(d => d.Value > 0).Select(d => $"{s.Name}/{d.Key}"))];

    private sealed class MemorySource((ushort Port, long Timestamp, byte[] Frame)[] frames) : IReplaySource
    {
        private int _next;

        public bool TryRead(out ushort port, out long timestampNanoseconds, out ReadOnlySpan<byte> frame)
        {
            if (_next == frames.Length)
            {
                port = 0;
                timestampNanoseconds = 0;
                frame = default;
                return false;
            }

            (port, timestampNanoseconds, byte[] bytes) = frames[_next++];
            frame = bytes;
            return true;
        }
    }

    private readonly struct CaptureSink(PortTable ports, List<Sent> sent) : ITransmitSink
    {
        public List<Sent> Sent => sent;

        public bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            sent.Add(new Sent(ports[port]!.Name, batch.Frame(packet).ToArray()));
            return true;
        }
    }
}
