using System.Runtime.CompilerServices;

namespace Dataplane.Pipeline;

/// <summary>
/// A pipeline stage (a VPP graph node). It receives a vector of packet indices, walks them in one tight loop,
/// and sends each to one of its named next stages or drops it with a counted reason. One subclass per file,
/// holding its state, next stages, drop reasons and trace formatting.
/// </summary>
public abstract class Node
{
    private int[] _nextIndex = [];

    protected Node(string name, string[] nextNodes, NamedCounter[] dropReasons, NamedCounter[]? events = null)
    {
        Name = name;
        NextNodes = nextNodes;
        DropReasons = dropReasons;
        Events = events ?? [];
        Counters = new NodeCounters(dropReasons.Length, Events.Count);
    }

    public string Name { get; }

    /// <summary>Names of the stages this one may send packets to; a stage's <c>Next</c> enum indexes it.</summary>
    public IReadOnlyList<string> NextNodes { get; }

    public IReadOnlyList<NamedCounter> DropReasons { get; }

    /// <summary>Things the stage counts that are not drops (replies sent, entries learned).</summary>
    public IReadOnlyList<NamedCounter> Events { get; }

    public NodeCounters Counters { get; }

    /// <summary>Position in the graph (stages run in this order; a stage only sends to later ones).</summary>
    public int Index { get; private set; } = -1;

    internal void Attach(int index, int[] nextIndex)
    {
        Index = index;
        _nextIndex = nextIndex;
    }

    /// <summary>Processes one vector. Generic over the trace mode so the untraced body carries no trace code.</summary>
    public abstract void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
        where TTrace : struct, ITraceMode;

    /// <summary>Describes a record this stage wrote (its event code and the two numbers), for `trace` output.</summary>
    public virtual string FormatTrace(in TraceRecord record) => "";

    /// <summary>Hands the packet to next stage <paramref name="next"/> (an index into <see cref="NextNodes"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Forward<TTrace>(Graph graph, ushort packet, int next, ushort code = 0, long a = 0, long b = 0)
        where TTrace : struct, ITraceMode
    {
        int target = _nextIndex[next];
        if (TTrace.Enabled)
        {
            graph.TraceIfFlagged(packet, new TraceRecord(0, (ushort)Index, (ushort)target, code, a, b));
        }

        graph.Enqueue(target, packet);
    }

    /// <summary>Drops the packet, counting it under <paramref name="reason"/> (an index into <see cref="DropReasons"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Drop<TTrace>(Graph graph, ushort packet, int reason, long a = 0, long b = 0)
        where TTrace : struct, ITraceMode
    {
        Counters.Drops[reason]++;
        graph.PortCounters[graph.Batch.Meta(packet).RxPort].RxDrops++;
        if (TTrace.Enabled)
        {
            graph.TraceIfFlagged(packet, new TraceRecord(0, (ushort)Index, TraceRecord.Dropped, (ushort)reason, a, b));
        }
    }

    /// <summary>Queues the packet for transmission on its <see cref="PacketMeta.TxPort"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Transmit<TTrace>(Graph graph, ushort packet, ushort code = 0, long a = 0, long b = 0)
        where TTrace : struct, ITraceMode
    {
        if (TTrace.Enabled)
        {
            graph.TraceIfFlagged(packet, new TraceRecord(0, (ushort)Index, TraceRecord.Transmitted, code, a, b));
        }

        graph.Batch.AddTransmit(packet);
    }

    /// <summary>Counts an event (an index into <see cref="Events"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Count(int counter) => Counters.Events[counter]++;

    public override string ToString() => Name;
}
