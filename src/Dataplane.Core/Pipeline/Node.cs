using System.Runtime.CompilerServices;

namespace Dataplane.Pipeline;

/// <summary>
/// A pipeline stage (a VPP graph node). It receives a vector of packet indices, walks them in one tight loop,
/// and sends each to one of its next stages or drops it with a counted reason. Stages derive from
/// <see cref="Node{TNext, TDrop, TEvent}"/>: its three enums are the stage's edges, drop reasons and events,
/// so one file holds everything a packet can meet there. This non-generic half is what the graph runs.
/// </summary>
public abstract class Node
{
    private int[] _nextIndex = [];

    private protected Node()
    {
        Info = StageInfo.Of(GetType());
        Counters = new NodeCounters(Info.DropReasons.Count, Info.Events.Count);
    }

    /// <summary>The stage's declaration (name, next stages, counters), read from its type.</summary>
    public StageInfo Info { get; }

    public string Name => Info.Name;

    /// <summary>Names of the stages this one may send packets to; a stage's <c>Next</c> enum indexes it.</summary>
    public IReadOnlyList<string> NextNodes => Info.Next;

    public IReadOnlyList<NamedCounter> DropReasons => Info.DropReasons;

    /// <summary>Things the stage counts that are not drops (replies sent, entries learned).</summary>
    public IReadOnlyList<NamedCounter> Events => Info.Events;

    public NodeCounters Counters { get; }

    /// <summary>Position in the graph (stages run in this order; a stage only sends to later ones).</summary>
    public int Index { get; private set; } = -1;

    /// <summary>Graph positions of this stage's next stages, indexed by its <c>Next</c> enum.</summary>
    internal ReadOnlySpan<int> NextIndex => _nextIndex;

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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void ForwardTo<TTrace>(Graph graph, ushort packet, int next, ushort code, long a, long b)
        where TTrace : struct, ITraceMode
    {
        int target = _nextIndex[next];
        if (TTrace.Enabled)
        {
            graph.TraceIfFlagged(packet, new TraceRecord(0, (ushort)Index, (ushort)target, code, a, b));
        }

        graph.Enqueue(target, packet);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void DropFor<TTrace>(Graph graph, ushort packet, int reason, long a, long b)
        where TTrace : struct, ITraceMode
    {
        Counters.Drops[reason]++;
        // A frame the graph made itself (neighbor-probe's) came from no port: its drop counts on the stage only.
        ushort rxPort = graph.Batch.Meta(packet).RxPort;
        PortCounters[] ports = graph.PortCounters;
        if (rxPort < ports.Length)
        {
            ports[rxPort].RxDrops++;
        }
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

    public override string ToString() => Name;
}

/// <summary>
/// A stage with its edges, drop reasons and events as enums. <typeparamref name="TNext"/>'s members name the
/// stages it sends to (<c>Next.IcmpError</c> is "icmp-error"): that enum is the only place a stage's edges are
/// written, and the graph definition checks them all. Use <see cref="None"/> for a stage without one of them.
/// </summary>
public abstract class Node<TNext, TDrop, TEvent> : Node
    where TNext : struct, Enum
    where TDrop : struct, Enum
    where TEvent : struct, Enum
{
    /// <summary>Hands the packet to next stage <paramref name="next"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Forward<TTrace>(Graph graph, ushort packet, TNext next, ushort code = 0, long a = 0, long b = 0)
        where TTrace : struct, ITraceMode
        => ForwardTo<TTrace>(graph, packet, Unsafe.As<TNext, int>(ref next), code, a, b);

    /// <summary>Drops the packet, counting it under <paramref name="reason"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Drop<TTrace>(Graph graph, ushort packet, TDrop reason, long a = 0, long b = 0)
        where TTrace : struct, ITraceMode
        => DropFor<TTrace>(graph, packet, Unsafe.As<TDrop, int>(ref reason), a, b);

    /// <summary>Counts a drop without tracing it (the stage traces the packet's fate itself).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void CountDrop(TDrop reason) => Counters.Drops[Unsafe.As<TDrop, int>(ref reason)]++;

    /// <summary>Counts an event.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Count(TEvent counter) => Counters.Events[Unsafe.As<TEvent, int>(ref counter)]++;
}
