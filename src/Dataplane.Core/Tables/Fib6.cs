using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// IPv6 longest-prefix match: a multibit trie with a 16-bit root (65536 entries) and 8-bit strides below it
/// (256-entry nodes), with prefixes expanded into every entry they cover (the IPv6 sibling of DIR-24-8, as
/// in DPDK's rte_lpm6). A lookup is one dependent read per level the address's longest prefix reaches: 1 for
/// /16, 5 for /48, 7 for /64, at most 15 for /128, whatever the number of prefixes. The packet path should
/// use the batch <see cref="Lookup(ReadOnlySpan{Ip6Address}, Span{int})"/>, which walks eight addresses at once.
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> One array: the root in entries 0..65535, node n (n &gt;= 256) in entries
/// <c>n*256 .. n*256+255</c>, so a child pointer is just <c>index &lt;&lt; 8</c>. Entries are 4 bytes:
/// 0 = no route, <c>0x8000_0000 | n</c> = "descend into node n", else <c>nextHop + 1</c>. A node costs 1 KiB plus a
/// 256 B writer-only depth shadow. Memory grows with how much prefixes share their upper bits, not with their
/// count alone: prefixes allocated from a few blocks (a cluster's pod /64s, a site's /48s) share all but their
/// last node, while a prefix with uniformly random bits needs its own node at every level below the first two
/// or so, 5-6 KiB for a /64. Size the capacity accordingly; when it runs out Insert returns Full.</para>
///
/// <para><b>Updates and concurrency</b> work exactly as in <see cref="Fib4"/>: per-length rule dictionaries
/// are the source of truth, writer-only depth bytes decide which entries an insert may overwrite and a delete must
/// restore, one writer, lock-free readers, every entry written by one aligned 4-byte store, a new node filled
/// before a <see cref="Volatile.Write(ref uint, uint)"/> publishes it, and nodes that collapse (no rule longer than
/// their parent entry left in them) or are dropped by <see cref="Clear"/> retired until <see cref="ReclaimRetired"/>.</para>
/// </remarks>
public sealed class Fib6
{
    /// <summary>Largest next hop: entries keep the top bit for "descend".</summary>
    public const int MaxNextHop = 0x7FFF_FFFE;

    /// <summary>Node indexes stay below 2^23 so that <c>index &lt;&lt; 8</c> is a valid array index.</summary>
    public const int MaxNodeCapacity = (1 << 23) - RootNodes;

    private const uint Extended = 0x8000_0000;
    private const int RootBits = 16;
    private const int RootEntries = 1 << RootBits;
    private const int NodeEntries = 256;

    // The root fills the first 256 node-sized slots of _table, so node numbers start there.
    private const int RootNodes = RootEntries / NodeEntries;

    // Root + 14 levels of 8 bits = 128 bits.
    private const int Levels = 15;

    // Root (256 KiB) then nodeCapacity nodes of 256 entries (1 KiB each); read by every lookup. None free -> Insert returns Full.
    private readonly uint[] _table;

    // Writer-only: length of the rule behind each entry of _table (0 for /0 and for "no route"); never read by lookups.
    private readonly byte[] _depth;

    // The rules, per length 0..128: network -> next hop. The control plane's source of truth.
    private readonly Dictionary<UInt128, int>[] _rules;

    // Stack of free node numbers; capacity = node capacity.
    private readonly int[] _freeNodes;

    // Nodes unlinked from the trie that a reader may still be inside; moved to _freeNodes by ReclaimRetired.
    private readonly int[] _retiredNodes;

    private int _freeCount;
    private int _retiredCount;
    private int _count;

    /// <param name="nodeCapacity">Trie nodes below the root (1.25 KiB each with the depth shadow).</param>
    public Fib6(int nodeCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nodeCapacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nodeCapacity, MaxNodeCapacity);

        int entries = RootEntries + nodeCapacity * NodeEntries;

        // Uninitialized is safe: the root is cleared here and a node is filled completely before it is
        // published. Nodes never used are never written, so they cost address space, not resident memory.
        _table = GC.AllocateUninitializedArray<uint>(entries);
        _depth = GC.AllocateUninitializedArray<byte>(entries);
        Array.Clear(_table, 0, RootEntries);
        Array.Clear(_depth, 0, RootEntries);

        _rules = new Dictionary<UInt128, int>[129];
        for (int length = 0; length <= 128; length++)
        {
            _rules[length] = new Dictionary<UInt128, int>();
        }

        _freeNodes = new int[nodeCapacity];
        _retiredNodes = new int[nodeCapacity];
        for (int i = 0; i < nodeCapacity; i++)
        {
            _freeNodes[i] = RootNodes + nodeCapacity - 1 - i;
        }

        _freeCount = nodeCapacity;
    }

    /// <summary>Number of prefixes installed.</summary>
    public int Count => _count;

    public int NodeCapacity => _freeNodes.Length;

    /// <summary>Nodes linked into the trie.</summary>
    public int NodesInUse => _freeNodes.Length - _freeCount - _retiredCount;

    /// <summary>Nodes waiting for <see cref="ReclaimRetired"/>.</summary>
    public int NodesRetired => _retiredCount;

    /// <summary>Bytes held by the trie, its depth shadow and the node stacks (not the rule dictionaries).</summary>
    public long MemoryBytes => (long)_table.Length * 5 + (long)_freeNodes.Length * 8;

    /// <summary>The installed rules, for tests to compare with a reference. Not for the packet path (allocates).</summary>
    internal IEnumerable<FibRoute> Routes
    {
        get
        {
            for (int length = 0; length <= 128; length++)
            {
                foreach (KeyValuePair<UInt128, int> rule in _rules[length])
                {
                    var network = new Ip6Address((ulong)(rule.Key >> 64), (ulong)rule.Key);
                    yield return new FibRoute(new IpPrefix(network, length), rule.Value);
                }
            }
        }
    }

    /// <summary>The next hop of the longest prefix containing <paramref name="address"/>, or <see cref="Fib.NoRoute"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Lookup(Ip6Address address)
    {
        // Plain indexing: unchecked reads measured the same here (8.0 vs 8.2 ns hot, 15.1 vs 15.4 ns at 100k
        // prefixes), unlike in the batch loop below.
        uint[] table = _table;
        ulong hi = address.Hi;
        uint entry = table[hi >> 48];

        // The next 8 address bytes, top byte first; `rest` streams in the remaining ones, so each level is
        // two shifts and an or instead of picking a byte out of Hi or Lo by position.
        ulong bits = (hi << 16) | (address.Lo >> 48);
        ulong rest = address.Lo << 16;
        while ((entry & Extended) != 0)
        {
            entry = table[((entry & ~Extended) << 8) | (uint)(bits >> 56)];
            bits = (bits << 8) | (rest >> 56);
            rest <<= 8;
        }

        return (int)entry - 1;
    }

    /// <summary>
    /// Looks up a batch: <c>nextHops[i] = Lookup(addresses[i])</c>, walking eight addresses in lockstep.
    /// Use this on the packet path.
    /// </summary>
    /// <remarks>
    /// Addresses stop at different depths, so the one-at-a-time loop mispredicts its exit on most lookups
    /// and each misprediction discards the loads already in flight for the next address. Here each step is
    /// branch-free (a finished lane re-reads entry 0 and keeps its value), eight independent loads are in
    /// flight per level, and the only exit test is "all eight done". Best of 40 runs on the 2-core dev
    /// host, per lookup: 10k prefixes over 1M addresses 27.6 -> 16.8 ns, 100k 51 -> 40 ns, a 1024-address
    /// batch against 100k 15.2 -> 12.0 ns; only a hot batch against 10 prefixes got slower (7.6 -> 10.1 ns:
    /// every lane waits for the deepest, a /128). Four lanes gained about half as much. Reads are unchecked
    /// (indexes are masked or published by the writer after the node was filled): bounds checks cost 4-7% here.
    /// </remarks>
    public void Lookup(ReadOnlySpan<Ip6Address> addresses, Span<int> nextHops)
    {
        nextHops = nextHops.Slice(0, addresses.Length);
        ref uint table = ref MemoryMarshal.GetArrayDataReference(_table);
        int i = 0;
        for (; i + 8 <= addresses.Length; i += 8)
        {
            ref Ip6Address p = ref Unsafe.AsRef(in addresses[i]);   // read only; Unsafe.Add needs a plain ref
            uint ea = Unsafe.Add(ref table, (nint)(Unsafe.Add(ref p, 0).Hi >> 48));
            uint eb = Unsafe.Add(ref table, (nint)(Unsafe.Add(ref p, 1).Hi >> 48));
            uint ec = Unsafe.Add(ref table, (nint)(Unsafe.Add(ref p, 2).Hi >> 48));
            uint ed = Unsafe.Add(ref table, (nint)(Unsafe.Add(ref p, 3).Hi >> 48));
            uint ee = Unsafe.Add(ref table, (nint)(Unsafe.Add(ref p, 4).Hi >> 48));
            uint ef = Unsafe.Add(ref table, (nint)(Unsafe.Add(ref p, 5).Hi >> 48));
            uint eg = Unsafe.Add(ref table, (nint)(Unsafe.Add(ref p, 6).Hi >> 48));
            uint eh = Unsafe.Add(ref table, (nint)(Unsafe.Add(ref p, 7).Hi >> 48));
            // The lanes move in lockstep, so each indexes with the same byte of its own address:
            // bytes 2-7 come from Hi, bytes 8-15 from Lo.
            int shift = 40;
            while (((ea | eb | ec | ed | ee | ef | eg | eh) & Extended) != 0 && shift >= 0)
            {
                ea = Step(ref table, ea, (uint)(Unsafe.Add(ref p, 0).Hi >> shift));
                eb = Step(ref table, eb, (uint)(Unsafe.Add(ref p, 1).Hi >> shift));
                ec = Step(ref table, ec, (uint)(Unsafe.Add(ref p, 2).Hi >> shift));
                ed = Step(ref table, ed, (uint)(Unsafe.Add(ref p, 3).Hi >> shift));
                ee = Step(ref table, ee, (uint)(Unsafe.Add(ref p, 4).Hi >> shift));
                ef = Step(ref table, ef, (uint)(Unsafe.Add(ref p, 5).Hi >> shift));
                eg = Step(ref table, eg, (uint)(Unsafe.Add(ref p, 6).Hi >> shift));
                eh = Step(ref table, eh, (uint)(Unsafe.Add(ref p, 7).Hi >> shift));
                shift -= 8;
            }

            shift = 56;
            while (((ea | eb | ec | ed | ee | ef | eg | eh) & Extended) != 0)
            {
                ea = Step(ref table, ea, (uint)(Unsafe.Add(ref p, 0).Lo >> shift));
                eb = Step(ref table, eb, (uint)(Unsafe.Add(ref p, 1).Lo >> shift));
                ec = Step(ref table, ec, (uint)(Unsafe.Add(ref p, 2).Lo >> shift));
                ed = Step(ref table, ed, (uint)(Unsafe.Add(ref p, 3).Lo >> shift));
                ee = Step(ref table, ee, (uint)(Unsafe.Add(ref p, 4).Lo >> shift));
                ef = Step(ref table, ef, (uint)(Unsafe.Add(ref p, 5).Lo >> shift));
                eg = Step(ref table, eg, (uint)(Unsafe.Add(ref p, 6).Lo >> shift));
                eh = Step(ref table, eh, (uint)(Unsafe.Add(ref p, 7).Lo >> shift));
                shift -= 8;
            }

            nextHops[i + 0] = (int)ea - 1;
            nextHops[i + 1] = (int)eb - 1;
            nextHops[i + 2] = (int)ec - 1;
            nextHops[i + 3] = (int)ed - 1;
            nextHops[i + 4] = (int)ee - 1;
            nextHops[i + 5] = (int)ef - 1;
            nextHops[i + 6] = (int)eg - 1;
            nextHops[i + 7] = (int)eh - 1;
        }

        for (; i < addresses.Length; i++)
        {
            nextHops[i] = Lookup(addresses[i]);
        }
    }

    /// <summary>The next hop of exactly this prefix (not a longest match).</summary>
    public bool TryGetRoute(Ip6Address network, int length, out int nextHop)
    {
        nextHop = Fib.NoRoute;
        UInt128 net = network.ToUInt128();
        return IsValidPrefix(net, length) && _rules[length].TryGetValue(net, out nextHop);
    }

    /// <summary>Adds the prefix or changes its next hop. Writer thread only.</summary>
    public FibResult Insert(Ip6Address network, int length, int nextHop)
    {
        UInt128 net = network.ToUInt128();
        if (!IsValidPrefix(net, length))
        {
            return FibResult.InvalidPrefix;
        }

        if ((uint)nextHop > MaxNextHop)
        {
            return FibResult.InvalidNextHop;
        }

        Dictionary<UInt128, int> rules = _rules[length];
        bool exists = rules.ContainsKey(net);

        // Check before touching anything, so a Full insert leaves no half-built path behind.
        if (!exists && NodesNeeded(net, length) > _freeCount)
        {
            return FibResult.Full;
        }

        rules[net] = nextHop;
        if (!exists)
        {
            _count++;
        }

        int target = LevelOf(length);
        int start = 0;
        for (int level = 0; level < target; level++)
        {
            int index = start + IndexAt(net, level);
            uint entry = _table[index];
            start = ((entry & Extended) != 0 ? (int)(entry & ~Extended) : Expand(index)) << 8;
        }

        uint leaf = (uint)nextHop + 1;
        byte depth = (byte)length;
        int first = start + IndexAt(net, target);
        int end = first + (1 << (LevelEnd(target) - length));
        for (int i = first; i < end; i++)
        {
            Overwrite(i, leaf, depth);
        }

        return exists ? FibResult.Replaced : FibResult.Added;
    }

    /// <summary>
    /// Removes the prefix; addresses it covered fall back to the next-less-specific rule. False if it was not
    /// installed. Writer thread only.
    /// </summary>
    public bool Delete(Ip6Address network, int length)
    {
        UInt128 net = network.ToUInt128();
        if (!IsValidPrefix(net, length) || !_rules[length].Remove(net))
        {
            return false;
        }

        _count--;
        (uint leaf, byte depth) = Covering(net, length);

        // path[level] = the entry at `level` that points to the node at level + 1.
        int target = LevelOf(length);
        Span<int> path = stackalloc int[Levels];
        int start = 0;
        for (int level = 0; level < target; level++)
        {
            int index = start + IndexAt(net, level);
            path[level] = index;
            uint entry = _table[index];
            Debug.Assert((entry & Extended) != 0, "an installed rule always has its path");
            start = (int)(entry & ~Extended) << 8;
        }

        byte removed = (byte)length;
        int first = start + IndexAt(net, target);
        int end = first + (1 << (LevelEnd(target) - length));
        for (int i = first; i < end; i++)
        {
            Restore(i, removed, leaf, depth);
        }

        // Fold emptied nodes back into their parent entry, bottom up. A node is kept exactly while some rule
        // longer than its parent entry's prefix lives in it; a deeper node's removal may empty its parent.
        for (int level = target; level > 0; level--)
        {
            int parent = path[level - 1];
            int node = (int)(_table[parent] & ~Extended);
            int nodeStart = node << 8;
            if (_table.AsSpan(nodeStart, NodeEntries).IndexOfAnyInRange(Extended, uint.MaxValue) >= 0
                || _depth.AsSpan(nodeStart, NodeEntries).IndexOfAnyInRange((byte)(LevelEnd(level - 1) + 1), (byte)128) >= 0)
            {
                break;
            }

            _depth[parent] = _depth[nodeStart];
            Volatile.Write(ref _table[parent], _table[nodeStart]);
            _retiredNodes[_retiredCount++] = node;
        }

        return true;
    }

    /// <summary>
    /// Removes every rule. Readers keep running: each sees, per /16, the old answer or no route. All nodes are
    /// retired (see <see cref="ReclaimRetired"/>). Writer thread only.
    /// </summary>
    public void Clear()
    {
        // Entry by entry, not Array.Clear: a reader must never see half of a child pointer. Only the root
        // needs clearing; the subtrees below become unreachable and are retired whole.
        for (int index = 0; index < RootEntries; index++)
        {
            uint entry = _table[index];
            if (entry != 0)
            {
                _table[index] = 0;
                if ((entry & Extended) != 0)
                {
                    RetireSubtree((int)(entry & ~Extended));
                }
            }
        }

        Array.Clear(_depth, 0, RootEntries);
        foreach (Dictionary<UInt128, int> rules in _rules)
        {
            rules.Clear();
        }

        _count = 0;
    }

    /// <summary>
    /// Makes retired nodes reusable. Call only when no reader can still be inside a lookup that started
    /// before the deletes that retired them (every worker has finished its current batch since), or when
    /// there are no concurrent readers. Writer thread only.
    /// </summary>
    public void ReclaimRetired()
    {
        for (int i = 0; i < _retiredCount; i++)
        {
            _freeNodes[_freeCount++] = _retiredNodes[i];
        }

        _retiredCount = 0;
    }

    /// <summary>
    /// One lockstep level: descends if <paramref name="entry"/> points to a node (indexing it with the low
    /// byte of <paramref name="bits"/>), else reads entry 0, which is always cached, and keeps the leaf. No branch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Step(ref uint table, uint entry, uint bits)
    {
        uint descend = 0u - (entry >> 31);
        uint next = Unsafe.Add(ref table, (nint)((((entry & ~Extended) << 8) | (bits & 0xFF)) & descend));
        return (next & descend) | (entry & ~descend);
    }

    private static bool IsValidPrefix(UInt128 net, int length)
        => (uint)length <= 128 && (length == 128 || (net & (UInt128.MaxValue >> length)) == UInt128.Zero);

    /// <summary>Last bit (exclusive) that level <paramref name="level"/> indexes: 16, 24, 32, ... 128.</summary>
    private static int LevelEnd(int level) => RootBits + 8 * level;

    /// <summary>The most trie nodes one prefix of this length allocates (none shared): one per level below the root.</summary>
    public static int MaxNodesFor(int length) => LevelOf(length);

    /// <summary>The level whose entries a prefix of this length is expanded into.</summary>
    private static int LevelOf(int length) => length <= RootBits ? 0 : (length - RootBits + 7) / 8;

    /// <summary>The address bits that index level <paramref name="level"/>.</summary>
    private static int IndexAt(UInt128 address, int level)
        => level == 0 ? (int)(address >> (128 - RootBits)) : (int)(address >> (128 - LevelEnd(level))) & 0xFF;

    /// <summary>How many nodes an insert of this (new) prefix would allocate along its path.</summary>
    private int NodesNeeded(UInt128 net, int length)
    {
        int target = LevelOf(length);
        int start = 0;
        for (int level = 0; level < target; level++)
        {
            uint entry = _table[start + IndexAt(net, level)];
            if ((entry & Extended) == 0)
            {
                return target - level;
            }

            start = (int)(entry & ~Extended) << 8;
        }

        return 0;
    }

    /// <summary>Writes (leaf, depth) into an entry, and through it into its subtree, wherever no longer prefix owns it.</summary>
    private void Overwrite(int index, uint leaf, byte depth)
    {
        uint entry = _table[index];
        if ((entry & Extended) != 0)
        {
            int start = (int)(entry & ~Extended) << 8;
            for (int i = start; i < start + NodeEntries; i++)
            {
                Overwrite(i, leaf, depth);
            }
        }
        else if (_depth[index] <= depth)
        {
            _depth[index] = depth;
            _table[index] = leaf;
        }
    }

    /// <summary>Replaces what the removed /<paramref name="removed"/> wrote in an entry and its subtree by (leaf, depth).</summary>
    private void Restore(int index, byte removed, uint leaf, byte depth)
    {
        uint entry = _table[index];
        if ((entry & Extended) != 0)
        {
            // Removing a prefix no longer than this node's parent entry leaves the node's own longer
            // rules in place, so it never empties here.
            int start = (int)(entry & ~Extended) << 8;
            for (int i = start; i < start + NodeEntries; i++)
            {
                Restore(i, removed, leaf, depth);
            }
        }
        else if (_depth[index] == removed)
        {
            _depth[index] = depth;
            _table[index] = leaf;
        }
    }

    /// <summary>Gives an entry a child node holding 256 copies of it, then publishes it. Returns the node number.</summary>
    private int Expand(int index)
    {
        int node = _freeNodes[--_freeCount];
        int start = node << 8;

        // Not yet reachable by any reader (new, or reclaimed after a grace period), so a plain fill is fine.
        _table.AsSpan(start, NodeEntries).Fill(_table[index]);
        _depth.AsSpan(start, NodeEntries).Fill(_depth[index]);

        // Release: the fill above is visible before the pointer to it.
        Volatile.Write(ref _table[index], Extended | (uint)node);
        return node;
    }

    private void RetireSubtree(int node)
    {
        int start = node << 8;
        for (int i = start; i < start + NodeEntries; i++)
        {
            uint entry = _table[i];
            if ((entry & Extended) != 0)
            {
                RetireSubtree((int)(entry & ~Extended));
            }
        }

        _retiredNodes[_retiredCount++] = node;
    }

    /// <summary>The longest remaining rule shorter than <paramref name="length"/> that covers <paramref name="net"/>, as (leaf, depth); (0, 0) if none.</summary>
    private (uint Leaf, byte Depth) Covering(UInt128 net, int length)
    {
        for (int shorter = length - 1; shorter >= 0; shorter--)
        {
            Dictionary<UInt128, int> rules = _rules[shorter];
            if (rules.Count != 0)
            {
                UInt128 key = shorter == 0 ? UInt128.Zero : net & (UInt128.MaxValue << (128 - shorter));
                if (rules.TryGetValue(key, out int nextHop))
                {
                    return ((uint)nextHop + 1, (byte)shorter);
                }
            }
        }

        return (0, 0);
    }
}
