using System.Diagnostics;
using System.Runtime.CompilerServices;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// IPv4 longest-prefix match: DPDK's DIR-24-8 (rte_lpm) with 2-byte entries. A lookup is one read of
/// <c>tbl24[addr &gt;&gt; 8]</c> and, only for /24s that hold a longer prefix, one dependent read of a
/// 256-entry tbl8 group: the cost does not depend on how many prefixes are installed.
/// </summary>
/// <remarks>
/// <para><b>Entries.</b> 0 = no route; <c>0x8000 | g</c> = "look in tbl8 group g"; anything else is
/// <c>nextHop + 1</c>, so a lookup returns <c>entry - 1</c> and a miss falls out as <see cref="Fib.NoRoute"/>
/// without a branch. Two bytes rather than rte_lpm's four: tbl24 is 32 MiB instead of 64 MiB, which on this
/// dev host (EPYC, 32 MiB L3) made random-/24 reads 3.4-4.4 ns instead of 4.7-6.2 ns (about 30% less). The price is
/// 15 bits for a next hop (32767 adjacencies) and for a group index (at most 32768 /24s holding a /25-/32).
/// A node's adjacencies (local pods, uplink next hops) number in the hundreds or thousands, and it needs one
/// group per /24 that holds /25-/32 routes (its own pod /24, Calico-style /26 blocks).</para>
///
/// <para><b>Updates.</b> The per-length rule dictionaries are the source of truth. Each entry also has a
/// writer-only "depth" byte (the length of the rule that wrote it), as rte_lpm keeps in its entries: an insert
/// of /L overwrites the entries in its range whose depth is &lt;= L, a delete of /L rewrites the entries whose
/// depth is exactly L with the next-less-specific rule found in the dictionaries. Only the prefix's own range
/// is touched. A group whose entries all come from /24-or-shorter rules again collapses back into its tbl24 entry.</para>
///
/// <para><b>Concurrency: one writer, any number of lock-free readers.</b> Every entry is written with a single
/// aligned 2-byte store, so a reader sees the old or the new entry, never half of one, and each of those is a
/// correct answer for the table before or after the update. A new group is filled completely with the
/// entry it replaces before <see cref="Volatile.Write(ref ushort, ushort)"/> publishes it (release: the fill
/// cannot become visible after the pointer; the reader needs no acquire because its second load's address comes
/// from the first, and the .NET memory model orders data-dependent reads: dotnet/runtime
/// docs/design/specs/Memory-model.md). A group that collapses, or is dropped by <see cref="Clear"/>, is <i>retired</i>, not freed:
/// a reader that loaded the old tbl24 entry may still be reading it. <see cref="ReclaimRetired"/> makes
/// retired groups reusable; the writer calls it once every reader has passed a quiescent point (finished the
/// batch it was in) since the deletes. Until then they count against capacity.</para>
/// </remarks>
public sealed class Fib4
{
    /// <summary>Largest next hop a 15-bit entry holds (0x7FFF is <c>MaxNextHop + 1</c>).</summary>
    public const int MaxNextHop = 0x7FFE;

    /// <summary>Group indexes are 15 bits.</summary>
    public const int MaxGroupCapacity = 0x8000;

    private const ushort Extended = 0x8000;
    private const ushort IndexMask = 0x7FFF;
    private const int Tbl24Entries = 1 << 24;
    private const int GroupEntries = 256;

    // One entry per /24, read by every lookup: 32 MiB, fixed.
    private readonly ushort[] _tbl24;

    // 256-entry groups for /24s holding a /25-/32: 512 B each, capacity fixed at construction; none free -> Insert returns Full.
    private readonly ushort[] _tbl8;

    // Writer-only: length of the rule behind each tbl24 entry (0 for /0 and for "no route"): 16 MiB, never read by lookups.
    private readonly byte[] _depth24;

    // Writer-only: the same for tbl8 entries, 256 B per group.
    private readonly byte[] _depth8;

    // The rules, per length 0..32: network (host order) -> next hop. The control plane's source of truth.
    private readonly Dictionary<uint, int>[] _rules;

    // Stack of free group indexes; capacity = group capacity.
    private readonly int[] _freeGroups;

    // Groups unlinked from tbl24 that a reader may still be inside; moved to _freeGroups by ReclaimRetired.
    private readonly int[] _retiredGroups;

    private int _freeCount;
    private int _retiredCount;
    private int _count;

    /// <param name="groupCapacity">tbl8 groups: how many distinct /24s may hold a /25-/32 (768 B each with the depth shadow).</param>
    public Fib4(int groupCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(groupCapacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(groupCapacity, MaxGroupCapacity);

        _tbl24 = new ushort[Tbl24Entries];
        _depth24 = new byte[Tbl24Entries];

        // Uninitialized is safe: a group is filled completely before it is published. Pages nobody has used
        // yet are then never written, so a generous capacity costs address space, not resident memory.
        _tbl8 = GC.AllocateUninitializedArray<ushort>(groupCapacity * GroupEntries);
        _depth8 = GC.AllocateUninitializedArray<byte>(groupCapacity * GroupEntries);

        _rules = new Dictionary<uint, int>[33];
        for (int length = 0; length <= 32; length++)
        {
            _rules[length] = new Dictionary<uint, int>();
        }

        _freeGroups = new int[groupCapacity];
        _retiredGroups = new int[groupCapacity];
        for (int i = 0; i < groupCapacity; i++)
        {
            _freeGroups[i] = groupCapacity - 1 - i;
        }

        _freeCount = groupCapacity;
    }

    /// <summary>Number of prefixes installed.</summary>
    public int Count => _count;

    public int GroupCapacity => _freeGroups.Length;

    /// <summary>Groups linked from tbl24.</summary>
    public int GroupsInUse => _freeGroups.Length - _freeCount - _retiredCount;

    /// <summary>Groups waiting for <see cref="ReclaimRetired"/>.</summary>
    public int GroupsRetired => _retiredCount;

    /// <summary>Bytes held by the lookup tables, their depth shadows and the group stacks (not the rule dictionaries).</summary>
    public long MemoryBytes => (long)_tbl24.Length * 3 + (long)_tbl8.Length * 3 + (long)_freeGroups.Length * 8;

    /// <summary>The installed rules, for tests to compare with a reference. Not for the packet path (allocates).</summary>
    internal IEnumerable<FibRoute> Routes
    {
        get
        {
            for (int length = 0; length <= 32; length++)
            {
                foreach (KeyValuePair<uint, int> rule in _rules[length])
                {
                    yield return new FibRoute(new IpPrefix(new Ip4Address(rule.Key), length), rule.Value);
                }
            }
        }
    }

    /// <summary>The next hop of the longest prefix containing <paramref name="address"/>, or <see cref="Fib.NoRoute"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Lookup(Ip4Address address)
    {
        // Plain indexing: Unsafe.Add without bounds checks measured the same (0.48 vs 0.48 ns hot, 5.2 vs
        // 4.6 ns over 1M addresses and 10k prefixes: noise on a shared host); the loads dominate, the checks predict.
        uint a = address.Value;
        uint entry = _tbl24[a >> 8];
        if ((entry & Extended) != 0)
        {
            entry = _tbl8[((entry & IndexMask) << 8) | (a & 0xFF)];
        }

        return (int)entry - 1;
    }

    /// <summary>Looks up a batch: <c>nextHops[i] = Lookup(addresses[i])</c>.</summary>
    public void Lookup(ReadOnlySpan<Ip4Address> addresses, Span<int> nextHops)
    {
        nextHops = nextHops.Slice(0, addresses.Length);
        for (int i = 0; i < addresses.Length; i++)
        {
            nextHops[i] = Lookup(addresses[i]);
        }
    }

    /// <summary>The next hop of exactly this prefix (not a longest match).</summary>
    public bool TryGetRoute(Ip4Address network, int length, out int nextHop)
    {
        nextHop = Fib.NoRoute;
        return IsValidPrefix(network.Value, length) && _rules[length].TryGetValue(network.Value, out nextHop);
    }

    /// <summary>Adds the prefix or changes its next hop. Writer thread only.</summary>
    public FibResult Insert(Ip4Address network, int length, int nextHop)
    {
        uint net = network.Value;
        if (!IsValidPrefix(net, length))
        {
            return FibResult.InvalidPrefix;
        }

        if ((uint)nextHop > MaxNextHop)
        {
            return FibResult.InvalidNextHop;
        }

        Dictionary<uint, int> rules = _rules[length];
        bool exists = rules.ContainsKey(net);
        if (!exists && length > 24 && (_tbl24[net >> 8] & Extended) == 0 && _freeCount == 0)
        {
            return FibResult.Full;
        }

        rules[net] = nextHop;
        if (!exists)
        {
            _count++;
        }

        ushort leaf = (ushort)(nextHop + 1);
        byte depth = (byte)length;
        if (length <= 24)
        {
            uint end = (net >> 8) + (1u << (24 - length));
            for (uint slot = net >> 8; slot < end; slot++)
            {
                OverwriteSlot(slot, leaf, depth);
            }
        }
        else
        {
            uint slot = net >> 8;
            ushort entry = _tbl24[slot];
            int group = (entry & Extended) != 0 ? entry & IndexMask : Expand(slot);
            int first = (group << 8) | (int)(net & 0xFF);
            int end = first + (1 << (32 - length));
            for (int i = first; i < end; i++)
            {
                if (_depth8[i] <= depth)
                {
                    _depth8[i] = depth;
                    _tbl8[i] = leaf;
                }
            }
        }

        return exists ? FibResult.Replaced : FibResult.Added;
    }

    /// <summary>
    /// Removes the prefix; addresses it covered fall back to the next-less-specific rule. False if it was not
    /// installed. Writer thread only.
    /// </summary>
    public bool Delete(Ip4Address network, int length)
    {
        uint net = network.Value;
        if (!IsValidPrefix(net, length) || !_rules[length].Remove(net))
        {
            return false;
        }

        _count--;
        (ushort leaf, byte depth) = Covering(net, length);
        byte removed = (byte)length;
        if (length <= 24)
        {
            uint end = (net >> 8) + (1u << (24 - length));
            for (uint slot = net >> 8; slot < end; slot++)
            {
                RestoreSlot(slot, removed, leaf, depth);
            }

            // A group exists because it holds a /25-/32; removing a /24-or-shorter leaves those, so none collapses.
            return true;
        }

        uint target = net >> 8;
        ushort entry = _tbl24[target];
        Debug.Assert((entry & Extended) != 0, "a /25-/32 rule always has its group");
        int group = entry & IndexMask;
        int first = (group << 8) | (int)(net & 0xFF);
        int last = first + (1 << (32 - length));
        for (int i = first; i < last; i++)
        {
            if (_depth8[i] == removed)
            {
                _depth8[i] = depth;
                _tbl8[i] = leaf;
            }
        }

        // No /25-/32 left in the group: every entry now holds the slot's own /24-or-shorter answer.
        int start = group << 8;
        if (_depth8.AsSpan(start, GroupEntries).IndexOfAnyInRange((byte)25, (byte)32) < 0)
        {
            _depth24[target] = _depth8[start];
            Volatile.Write(ref _tbl24[target], _tbl8[start]);
            _retiredGroups[_retiredCount++] = group;
        }

        return true;
    }

    /// <summary>
    /// Removes every rule. Readers keep running: each sees, per /24, the old answer or no route. All groups are
    /// retired (see <see cref="ReclaimRetired"/>). Writer thread only.
    /// </summary>
    public void Clear()
    {
        // Entry by entry rather than Array.Clear: memset is free to store in any width and order, and a
        // reader must never see half of a group pointer. A full pass is about 20 ms; Clear is rare.
        ushort[] tbl24 = _tbl24;
        for (int slot = 0; slot < tbl24.Length; slot++)
        {
            ushort entry = tbl24[slot];
            if (entry != 0)
            {
                tbl24[slot] = 0;
                if ((entry & Extended) != 0)
                {
                    _retiredGroups[_retiredCount++] = entry & IndexMask;
                }
            }
        }

        Array.Clear(_depth24);
        foreach (Dictionary<uint, int> rules in _rules)
        {
            rules.Clear();
        }

        _count = 0;
    }

    /// <summary>
    /// Makes retired groups reusable. Call only when no reader can still be inside a lookup that started
    /// before the deletes that retired them (every worker has finished its current batch since), or when
    /// there are no concurrent readers. Writer thread only.
    /// </summary>
    public void ReclaimRetired()
    {
        for (int i = 0; i < _retiredCount; i++)
        {
            _freeGroups[_freeCount++] = _retiredGroups[i];
        }

        _retiredCount = 0;
    }

    private static bool IsValidPrefix(uint net, int length)
        => (uint)length <= 32 && (length == 32 || (net & (uint.MaxValue >> length)) == 0);

    /// <summary>Writes (leaf, depth) into one /24's entry, or into its group, wherever no longer prefix owns it.</summary>
    private void OverwriteSlot(uint slot, ushort leaf, byte depth)
    {
        ushort entry = _tbl24[slot];
        if ((entry & Extended) != 0)
        {
            int start = (entry & IndexMask) << 8;
            for (int i = start; i < start + GroupEntries; i++)
            {
                if (_depth8[i] <= depth)
                {
                    _depth8[i] = depth;
                    _tbl8[i] = leaf;
                }
            }
        }
        else if (_depth24[slot] <= depth)
        {
            _depth24[slot] = depth;
            _tbl24[slot] = leaf;
        }
    }

    /// <summary>Replaces what the removed /<paramref name="removed"/> wrote in one /24 (or its group) by (leaf, depth).</summary>
    private void RestoreSlot(uint slot, byte removed, ushort leaf, byte depth)
    {
        ushort entry = _tbl24[slot];
        if ((entry & Extended) != 0)
        {
            int start = (entry & IndexMask) << 8;
            for (int i = start; i < start + GroupEntries; i++)
            {
                if (_depth8[i] == removed)
                {
                    _depth8[i] = depth;
                    _tbl8[i] = leaf;
                }
            }
        }
        else if (_depth24[slot] == removed)
        {
            _depth24[slot] = depth;
            _tbl24[slot] = leaf;
        }
    }

    /// <summary>Gives a /24 a group holding 256 copies of its current entry, then publishes it.</summary>
    private int Expand(uint slot)
    {
        int group = _freeGroups[--_freeCount];
        int start = group << 8;

        // Not yet reachable by any reader (new, or reclaimed after a grace period), so a plain fill is fine.
        _tbl8.AsSpan(start, GroupEntries).Fill(_tbl24[slot]);
        _depth8.AsSpan(start, GroupEntries).Fill(_depth24[slot]);

        // Release: the fill above is visible before the pointer to it.
        Volatile.Write(ref _tbl24[slot], (ushort)(Extended | group));
        return group;
    }

    /// <summary>The longest remaining rule shorter than <paramref name="length"/> that covers <paramref name="net"/>, as (leaf, depth); (0, 0) if none.</summary>
    private (ushort Leaf, byte Depth) Covering(uint net, int length)
    {
        for (int shorter = length - 1; shorter >= 0; shorter--)
        {
            Dictionary<uint, int> rules = _rules[shorter];
            if (rules.Count != 0)
            {
                uint key = shorter == 0 ? 0 : net & (uint.MaxValue << (32 - shorter));
                if (rules.TryGetValue(key, out int nextHop))
                {
                    return ((ushort)(nextHop + 1), (byte)shorter);
                }
            }
        }

        return (0, 0);
    }
}
