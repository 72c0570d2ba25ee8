using System.Runtime.CompilerServices;

namespace Dataplane.Conntrack;

public enum FlowEventKind : byte
{
    /// <summary>An entry was created (the flow's first packet).</summary>
    New,

    /// <summary>An entry was removed: expired and swept, closed, flushed, or its service or endpoint went away.</summary>
    End,
}

/// <summary>
/// A conntrack entry as it was created or removed (a copy: the slot may be reused at once), with its packet and
/// byte counts when <c>conntrack.accounting</c> is on (null when off; zero for <see cref="FlowEventKind.New"/>,
/// the totals at removal for <see cref="FlowEventKind.End"/>, as `conntrack -E` shows them on [DESTROY]).
/// </summary>
public readonly record struct FlowEvent(FlowEventKind Kind, FlowEntry Entry, FlowCounters? Counters = null);

/// <summary>A flow's packets and bytes per direction (nf_conntrack_acct); bytes are the IP packets' lengths, as the kernel counts them.</summary>
public readonly record struct FlowCounters(long OriginalPackets, long OriginalBytes, long ReplyPackets, long ReplyBytes);

/// <summary>
/// Flow start/end events for `ctl flows --follow` (what `conntrack -E` shows): a fixed ring the conntrack table
/// writes when it creates or removes an entry, drained by the control thread. Writing allocates nothing and takes
/// no lock: a producer claims a slot with one compare-and-swap (Vyukov's bounded queue), so it stays correct
/// whether inserts serialize on one lock or on several. A full ring drops the event and counts it
/// (<see cref="Lost"/>); nothing is written at all unless a follower is attached (<see cref="Active"/>).
/// </summary>
public sealed class FlowEventRing
{
    private readonly FlowEvent[] _events;
    private readonly long[] _sequence;
    private readonly int _mask;
    private long _head;
    private long _tail;
    private int _followers;
    private long _lost;

    /// <param name="capacity">Events held between drains (rounded up to a power of two).</param>
    public FlowEventRing(int capacity = 8192)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, capacity));
        _events = new FlowEvent[size];
        _sequence = new long[size];
        for (int i = 0; i < size; i++)
        {
            _sequence[i] = i;
        }

        _mask = size - 1;
    }

    /// <summary>True while someone follows; the table checks this before copying an entry.</summary>
    public bool Active
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _followers) > 0;
    }

    /// <summary>Events dropped because the ring was full (the follower fell behind).</summary>
    public long Lost => Volatile.Read(ref _lost);

    public void Follow() => Interlocked.Increment(ref _followers);

    public void Unfollow() => Interlocked.Decrement(ref _followers);

    /// <summary>Any thread; never blocks. Returns false (and counts a loss) when the ring is full.</summary>
    public bool TryPublish(FlowEventKind kind, in FlowEntry entry, FlowCounters? counters = null)
    {
        long position = Volatile.Read(ref _head);
        while (true)
        {
            long sequence = Volatile.Read(ref _sequence[position & _mask]);
            long difference = sequence - position;
            if (difference == 0)
            {
                if (Interlocked.CompareExchange(ref _head, position + 1, position) == position)
                {
                    break;
                }
            }
            else if (difference < 0)
            {
                Interlocked.Increment(ref _lost);
                return false;
            }
            else
            {
                position = Volatile.Read(ref _head);
            }
        }

        _events[position & _mask] = new FlowEvent(kind, entry, counters);
        Volatile.Write(ref _sequence[position & _mask], position + 1);
        return true;
    }

    /// <summary>One consumer only (the control thread's drain loop).</summary>
    public bool TryRead(out FlowEvent flowEvent)
    {
        long position = _tail;
        long index = position & _mask;
        if (Volatile.Read(ref _sequence[index]) != position + 1)
        {
            flowEvent = default;
            return false;
        }

        flowEvent = _events[index];
        Volatile.Write(ref _sequence[index], position + _mask + 1);
        _tail = position + 1;
        return true;
    }
}
