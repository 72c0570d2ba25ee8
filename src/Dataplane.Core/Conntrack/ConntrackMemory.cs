using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Conntrack;

/// <summary>
/// Where a <see cref="ConntrackTable"/> keeps its flows: <see cref="Capacity"/> entries and, with accounting, four
/// counters per entry, in memory the GC never moves. The index and free list are not here: they are rebuilt from the
/// entries (<see cref="ConntrackTable.Restore"/>), so only the entries need to outlive a process. The daemon hands the
/// table a memory-mapped file under its state directory (Cilium's pinned maps, in userspace), which a restarted or
/// upgraded daemon maps again: tracked flows, their NAT and their state survive `kill -9`. Tests and `replay` use
/// <see cref="Anonymous"/>.
/// </summary>
public abstract unsafe class ConntrackMemory : IDisposable
{
    protected ConntrackMemory(int capacity, bool accounting)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        Accounting = accounting;
    }

    public int Capacity { get; }

    public bool Accounting { get; }

    /// <summary>The entries: <see cref="Capacity"/> of them, zeroed when new.</summary>
    public abstract FlowEntry* Entries { get; }

    /// <summary>Original packets, original bytes, reply packets, reply bytes per entry; null without accounting.</summary>
    public abstract long* Counters { get; }

    /// <summary>True when the entries come from an earlier run (the table then restores rather than starts empty).</summary>
    public abstract bool Restored { get; }

    /// <summary>Bytes the entries and counters take.</summary>
    public long Bytes => BytesFor(Capacity, Accounting);

    public static long BytesFor(int capacity, bool accounting)
        => ((long)capacity * Unsafe.SizeOf<FlowEntry>()) + (accounting ? (long)capacity * CountersPerEntry * sizeof(long) : 0);

    /// <summary>Longs of <see cref="Counters"/> per entry.</summary>
    public const int CountersPerEntry = 4;

    /// <summary>
    /// Process memory: pinned arrays the GC frees with the table. Pinned, not native: a table is often dropped without
    /// a Dispose (tests, replay), and a finalizer freeing native memory could race a last call still reading it.
    /// </summary>
    public static ConntrackMemory Anonymous(int capacity, bool accounting) => new AnonymousMemory(capacity, accounting);

    /// <summary>Unmaps what a subclass mapped (the table must not be used afterwards); nothing for <see cref="Anonymous"/>.</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);

    private sealed class AnonymousMemory : ConntrackMemory
    {
        private readonly FlowEntry[] _entries;
        private readonly long[]? _counters;

        public AnonymousMemory(int capacity, bool accounting)
            : base(capacity, accounting)
        {
            _entries = GC.AllocateArray<FlowEntry>(capacity, pinned: true);
            _counters = accounting ? GC.AllocateArray<long>(capacity * CountersPerEntry, pinned: true) : null;
        }

        public override FlowEntry* Entries => (FlowEntry*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_entries));

        public override long* Counters => _counters is null ? null : (long*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_counters));

        public override bool Restored => false;
    }
}
