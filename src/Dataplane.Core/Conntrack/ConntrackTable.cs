using System.Numerics;
using System.Runtime.CompilerServices;
using Dataplane.Packets;

namespace Dataplane.Conntrack;

public enum InsertResult : byte
{
    /// <summary>A new entry was created.</summary>
    Inserted,

    /// <summary>A live entry for this tuple already existed (another packet of the flow won the race); it is returned.</summary>
    Existing,

    /// <summary>No free entry or index slot: the new flow is refused (counted); existing flows are untouched.</summary>
    Full,

    /// <summary>The reply tuple is taken by another flow and no free source port could be found.</summary>
    Clash,

    /// <summary>A new entry was created in the room of an unanswered flow dropped for it (<see cref="EarlyDropPolicy"/>).</summary>
    InsertedByEarlyDrop,

    /// <summary>The pod opening the flow holds its share of entries (<see cref="PodFlowLimits"/>): refused.</summary>
    PodEntryLimit,

    /// <summary>The pod opening the flow exceeded its new flows per second (<see cref="PodFlowLimits"/>): refused.</summary>
    PodRateLimit,
}

/// <summary>
/// Connection tracking (nf_conntrack's job): every tracked flow findable from either direction in O(1), with
/// its NAT translation and state. Fixed capacity, never grows; a full table refuses new flows (counted by the
/// caller) while existing ones keep flowing. Expiry is lazy (a dead entry is a miss) plus an incremental
/// sweep of a few buckets per batch, so there is never a stop-the-world scan: each worker sweeps its own stripe
/// of the index (<see cref="ConntrackSweeper"/>), reading without the lock, and takes the lock only to remove an
/// entry it found expired.
/// <para>
/// Layout after VPP's lbhash and Katran's LRU: an index of 64-byte buckets, each 7 slots plus a control word,
/// where a slot packs a 32-bit hash signature, the entry number and the direction into one ulong; entries
/// (80 bytes) live in a separate array. A lookup usually touches one index line and one entry line. The
/// control word counts keys that overflowed past this bucket (F14's scheme), so a miss stops at the first
/// bucket nobody overflowed from instead of probing further.
/// </para>
/// <para>
/// Concurrency: lookups take no lock. Inserts and removals serialize on one lock (once per new or ending flow,
/// never per packet). A slot is published with one 64-bit store after its entry is complete, and an entry's
/// <see cref="FlowEntry.Version"/> is odd while it is rewritten, so a reader racing a reuse sees a miss, never
/// another flow's translation.
/// </para>
/// </summary>
public sealed unsafe class ConntrackTable
{
    private const int SlotsPerBucket = 8;
    private const int MaxProbe = 32;

    /// <summary>Longs of <see cref="_counters"/> per entry.</summary>
    private const int CountersPerEntry = ConntrackMemory.CountersPerEntry;

    /// <summary>The entries, in <see cref="_memory"/> (a mapped file in the daemon: they outlive the process).</summary>
    private readonly FlowEntry* _entries;
    private readonly int _capacity;
    private readonly ConntrackMemory _memory;
    private readonly ulong[] _index;
    private readonly int _bucketMask;
    private readonly int[] _free;
    private readonly Lock _writeLock = new();
    private readonly IpAddress _hairpin4;
    private readonly IpAddress _hairpin6;
    private readonly NodeSnat _nodeSnat;
    private readonly PodFlowLimits? _podLimits;

    /// <summary>
    /// nf_conntrack_acct: per entry, <see cref="CountersPerEntry"/> longs (original packets, original bytes, reply
    /// packets, reply bytes), beside the entries rather than in them so <see cref="FlowEntry"/> stays 80 bytes and a
    /// table without accounting pays nothing. Null when accounting is off (the kernel's default, for its cost).
    /// </summary>
    private readonly long* _counters;
    private int _freeCount;
    private int _sweepCursor;

    /// <param name="maxEntries">Flows the table holds.</param>
    /// <param name="hairpinSource4">Source that hairpinned IPv4 flows are rewritten to (the gateway).</param>
    /// <param name="hairpinSource6">Same for IPv6 (the gateway's IPv6, or unspecified).</param>
    /// <param name="accounting">Count packets and bytes per flow and direction (<c>conntrack.accounting</c>): 32 more bytes per entry.</param>
    /// <param name="nodeSnat">The node's addresses and port range for <see cref="FlowFlags.SnatNode"/> flows; none by default.</param>
    /// <param name="memory">Where the entries live (<paramref name="maxEntries"/> and <paramref name="accounting"/> must match it); process memory by default.</param>
    /// <param name="podLimits">Each pod's share of entries and new flows (<c>conntrack.perPod</c>); none by default.</param>
    public ConntrackTable(int maxEntries, IpAddress hairpinSource4, IpAddress hairpinSource6, bool accounting = false, NodeSnat? nodeSnat = null,
        ConntrackMemory? memory = null, PodFlowLimits? podLimits = null)
    {
        _podLimits = podLimits;
        _nodeSnat = nodeSnat ?? NodeSnat.None;
        _memory = memory ?? ConntrackMemory.Anonymous(maxEntries, accounting);
        if (_memory.Capacity != maxEntries || _memory.Accounting != accounting)
        {
            throw new ArgumentException($"conntrack memory holds {_memory.Capacity} entries (accounting {_memory.Accounting}), not {maxEntries} ({accounting})", nameof(memory));
        }

        // Two keys per flow at a load of at most 2/3 of the 7 usable slots per bucket.
        long buckets = (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Max(16, (maxEntries * 2L * 3 / 2 / 7) + 1));
        _entries = _memory.Entries;
        _capacity = maxEntries;
        _index = GC.AllocateArray<ulong>((int)(buckets * SlotsPerBucket), pinned: false);
        _bucketMask = (int)buckets - 1;
        _free = new int[maxEntries];
        for (int i = 0; i < maxEntries; i++)
        {
            _free[i] = maxEntries - 1 - i;
        }

        _freeCount = maxEntries;
        _counters = _memory.Counters;
        _hairpin4 = hairpinSource4;
        _hairpin6 = hairpinSource6;
    }

    public int Capacity => _capacity;

    /// <summary>Where <see cref="FlowFlags.SnatNode"/> flows are source-NATed to.</summary>
    public NodeSnat NodeSnat => _nodeSnat;

    /// <summary>The source a source-NATed flow of this family leaves with: the node's address, or the gateway for a hairpin.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public IpAddress SnatSource(FlowFlags flags, bool v4)
        => (flags & FlowFlags.SnatNode) != 0 ? (v4 ? _nodeSnat.V4 : _nodeSnat.V6) : (v4 ? _hairpin4 : _hairpin6);

    /// <summary>Each pod's share of entries and new flows, or null when flows are not limited per pod.</summary>
    public PodFlowLimits? PodLimits => _podLimits;

    /// <summary>Whether packets and bytes are counted per flow (<c>conntrack.accounting</c>).</summary>
    public bool Accounting => _counters != null;

    /// <summary>Called (under the table's write lock) for each removed service flow, so leastconn can release the backend.</summary>
    public Action<FlowEntry>? ServiceFlowEnded { get; set; }

    /// <summary>Where entry creations and removals are reported while someone follows them (`ctl flows --follow`).</summary>
    public FlowEventRing Events { get; } = new();

    public int Count => Capacity - Volatile.Read(ref _freeCount);

    /// <summary>Index buckets (64 bytes each), the unit <see cref="ConntrackSweeper"/> stripes are made of.</summary>
    public int BucketCount => _bucketMask + 1;

    /// <summary>
    /// Runs at the start of <see cref="FindOrInsert"/>, after the caller's lookup missed and before the insert takes
    /// the lock: a test makes another worker insert the same flow here, forcing the insert race. Only the new-flow
    /// path reads it.
    /// </summary>
    internal Action? BeforeInsertForTest { get; set; }

    /// <summary>Bytes held by entries, index, free list and (when accounting is on) the per-flow counters together.</summary>
    public long MemoryBytes => _memory.Bytes + ((long)_index.Length * sizeof(ulong)) + ((long)_free.Length * sizeof(int));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref FlowEntry Entry(int index)
    {
        // The pointer has no bounds of its own: an entry number from outside is checked here, once.
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_capacity, nameof(index));
        return ref _entries[index];
    }

    /// <summary>
    /// Counts one packet of <paramref name="bytes"/> for the entry's original or reply direction; nothing (one
    /// predictable branch) when accounting is off. Plain adds, no lock and no Interlocked: the counters are shared
    /// by all workers (like nf_conntrack_acct's, which are not per-cpu either), and two workers handling packets of
    /// one flow at the same moment may lose an increment. The kernel pays an atomic64_add per packet to avoid that;
    /// we keep the per-packet cost at two plain adds since the counts are for people, not for billing. A worker
    /// still holding an entry number the table just reused may likewise count one packet to the new flow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Account(int entry, bool reply, int bytes)
    {
        long* counters = _counters;
        if (counters == null)
        {
            return;
        }

        long at = ((long)entry * CountersPerEntry) + (reply ? 2 : 0);
        counters[at]++;
        counters[at + 1] += bytes;
    }

    /// <summary>The entry's packet and byte counts; null when accounting is off.</summary>
    public FlowCounters? Counters(int entry)
    {
        long* counters = _counters;
        if (counters == null)
        {
            return null;
        }

        long at = (long)entry * CountersPerEntry;
        return new FlowCounters(Volatile.Read(ref counters[at]), Volatile.Read(ref counters[at + 1]), Volatile.Read(ref counters[at + 2]), Volatile.Read(ref counters[at + 3]));
    }

    /// <summary>
    /// Finds the live entry for a packet's tuple. <paramref name="reply"/> says whether the tuple is the flow's
    /// reply direction. An expired entry is a miss.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(in FlowKey key, long now, out int entry, out bool reply)
    {
        if (Find(in key, key.Hash(), out entry, out reply) && Volatile.Read(ref _entries[entry].Expires) > now)
        {
            return true;
        }

        entry = -1;
        return false;
    }

    /// <summary>The tuple packets of the reply direction carry: from the (translated) destination back to the (translated) source.</summary>
    public FlowKey ReplyKey(in FlowEntry e)
    {
        bool v4 = e.Original.SourceHi == 0 && (e.Original.SourceLo >> 32) == 0xFFFF;
        IpAddress replyDestination = (e.Flags & (FlowFlags.SnatAddress | FlowFlags.SnatNode)) != 0
            ? SnatSource(e.Flags, v4)
            : new IpAddress(new Ip6Address(e.Original.SourceHi, e.Original.SourceLo));
        return new FlowKey
        {
            SourceHi = e.NatHi,
            SourceLo = e.NatLo,
            DestinationHi = replyDestination.Bits.Hi,
            DestinationLo = replyDestination.Bits.Lo,
            SourcePort = e.NatPort,
            DestinationPort = (e.Flags & FlowFlags.SnatPort) != 0 ? e.SnatPort : e.Original.SourcePort,
            Protocol = e.Original.Protocol,
        };
    }

    /// <summary>
    /// Inserts the flow described by <paramref name="flow"/> (its <see cref="FlowEntry.Original"/> is the key)
    /// unless a live entry for that tuple exists, in which case that one is returned: two packets of one new
    /// UDP flow processed together end on one entry, not two (the kernel's insert race, kubernetes#56903).
    /// When the reply tuple is taken and <paramref name="allowPortRemap"/>, a free source port is chosen and
    /// the flow is source-port translated, as nf_nat's get_unique_tuple does. A flow charged to a pod
    /// (<see cref="FlowEntry.Owner"/>) must fit that pod's <see cref="PodFlowLimits"/>; a full table makes room by
    /// dropping an unanswered flow near the new tuple (<see cref="EarlyDropPolicy"/>) when there is one.
    /// </summary>
    public InsertResult FindOrInsert(in FlowEntry flow, long now, bool allowPortRemap, out int entry, out bool reply)
    {
        ulong hash = flow.Original.Hash();
        BeforeInsertForTest?.Invoke();
        lock (_writeLock)
        {
            if (Find(in flow.Original, hash, out entry, out reply))
            {
                if (_entries[entry].Expires > now)
                {
                    return InsertResult.Existing;
                }

                RemoveLocked(entry);
            }

            reply = false;
            PodAdmission admission = _podLimits?.Admit(flow.Owner, now) ?? PodAdmission.Admitted;
            if (admission == PodAdmission.TooManyEntries && SweepLocked(now, PodFlowLimits.SweepBucketsAtLimit) > 0)
            {
                admission = _podLimits!.Admit(flow.Owner, now);
            }

            switch (admission)
            {
                case PodAdmission.TooManyEntries:
                    entry = -1;
                    return InsertResult.PodEntryLimit;
                case PodAdmission.TooManyNewFlows:
                    entry = -1;
                    return InsertResult.PodRateLimit;
            }

            bool earlyDropped = false;
            if (_freeCount == 0 && SweepLocked(now, 64) == 0)
            {
                if (!EarlyDropLocked(hash))
                {
                    entry = -1;
                    return InsertResult.Full;
                }

                earlyDropped = true;
            }

            FlowEntry candidate = flow;
            FlowKey replyKey = ReplyKey(in candidate);
            if (!ReplyKeyFree(ref candidate, ref replyKey, now, allowPortRemap))
            {
                entry = -1;
                return InsertResult.Clash;
            }

            entry = _free[--_freeCount];
            ref FlowEntry e = ref _entries[entry];
            uint version = e.Version | 1;
            Volatile.Write(ref e.Version, version);
            StoreLoadFenceOnWeakMemory();
            candidate.Version = version;
            e = candidate;
            _podLimits?.Charge(candidate.Owner);
            if (_counters != null)
            {
                // Zeroed before the entry is published, so no packet of the new flow is counted and then wiped.
                new Span<long>(_counters + ((long)entry * CountersPerEntry), CountersPerEntry).Clear();
            }

            Volatile.Write(ref e.Version, version + 1);

            if (!TryPublish(hash, entry, reply: false))
            {
                Release(entry, ended: false);
                entry = -1;
                return InsertResult.Full;
            }

            if (!TryPublish(replyKey.Hash(), entry, reply: true))
            {
                Unpublish(hash, entry, reply: false);
                Release(entry, ended: false);
                entry = -1;
                return InsertResult.Full;
            }

            if (Events.Active)
            {
                Events.TryPublish(FlowEventKind.New, in e, _counters == null ? null : default(FlowCounters));
            }

            return earlyDropped ? InsertResult.InsertedByEarlyDrop : InsertResult.Inserted;
        }
    }

    /// <summary>
    /// Takes over the entries an earlier run left in the table's memory (<see cref="ConntrackMemory.Restored"/>), before
    /// any packet is processed: the index and the free list are rebuilt from the entries alone, so an index torn by a
    /// `kill -9` cannot matter. An entry is published again when it is whole (even <see cref="FlowEntry.Version"/>: odd
    /// means the writer died mid-rewrite), live, not further away than <paramref name="maxLifetime"/> (a larger
    /// deadline is not one this table wrote), plausible (known flags and TCP state) and not a duplicate; every other
    /// entry is freed. <paramref name="rebindService"/> gets each restored service flow and returns its backend's
    /// stable id in the services as programmed now (counting the connection for leastconn), or -1 when that backend is
    /// gone: the flow then keeps its translation but releases nothing when it ends.
    /// </summary>
    public ConntrackRestore Restore(long now, long maxLifetime, Func<FlowEntry, int>? rebindService = null)
    {
        lock (_writeLock)
        {
            Array.Clear(_index);
            _freeCount = 0;
            int restored = 0, expired = 0, invalid = 0;
            for (int i = _capacity - 1; i >= 0; i--)
            {
                ref FlowEntry e = ref _entries[i];
                bool empty = e.Expires == 0 && e.Version == 0 && e.Original.Protocol == 0;
                bool live = e.Expires > now;
                if (!empty && live && Plausible(in e, now, maxLifetime) && Republish(i))
                {
                    if ((e.Flags & (FlowFlags.Service | FlowFlags.Released)) == FlowFlags.Service)
                    {
                        int backend = rebindService?.Invoke(e) ?? -1;
                        if (backend < 0)
                        {
                            e.Flags |= FlowFlags.Released;
                        }
                        else
                        {
                            e.BackendId = backend;
                        }
                    }

                    _podLimits?.Charge(e.Owner); // its pod's share counts it again (the port may be another pod's now: counts stay bounded)
                    restored++;
                    continue;
                }

                if (!empty)
                {
                    _ = live ? invalid++ : expired++;
                }

                e = default;
                if (_counters != null)
                {
                    new Span<long>(_counters + ((long)i * CountersPerEntry), CountersPerEntry).Clear();
                }

                _free[_freeCount++] = i;
            }

            return new ConntrackRestore(restored, expired, invalid);
        }
    }

    private static bool Plausible(in FlowEntry e, long now, long maxLifetime)
        => (e.Version & 1) == 0 && e.Expires - now <= maxLifetime && (byte)e.Flags < (1 << 7) && (byte)e.TcpState <= (byte)TcpState.SynSent2
           && (e.Original.Protocol != 0 || e.Original.SourceLo != 0);

    /// <summary>Publishes entry <paramref name="entry"/> under both its keys, unless either is taken already (then neither).</summary>
    private bool Republish(int entry)
    {
        ref FlowEntry e = ref _entries[entry];
        ulong hash = e.Original.Hash();
        FlowKey replyKey = ReplyKey(in e);
        if (Find(in e.Original, hash, out _, out _) || Find(in replyKey, replyKey.Hash(), out _, out _))
        {
            return false;
        }

        if (!TryPublish(hash, entry, reply: false))
        {
            return false;
        }

        if (!TryPublish(replyKey.Hash(), entry, reply: true))
        {
            Unpublish(hash, entry, reply: false);
            return false;
        }

        return true;
    }

    /// <summary>
    /// nf_conntrack's early_drop: removes the evictable flow nearest its expiry among the original-direction slots
    /// of <see cref="EarlyDropPolicy.Buckets"/> buckets from <paramref name="hash"/>'s home bucket. False when none
    /// of them may go (every flow there answered): the new flow is then refused.
    /// </summary>
    private bool EarlyDropLocked(ulong hash)
    {
        int victim = -1;
        long soonest = long.MaxValue;
        int bucket = (int)hash & _bucketMask;
        for (int n = 0; n < EarlyDropPolicy.Buckets; n++)
        {
            int start = bucket * SlotsPerBucket;
            for (int s = start + 1; s < start + SlotsPerBucket; s++)
            {
                ulong slot = _index[s];
                if (slot != 0 && (slot & 1) == 0)
                {
                    ref FlowEntry e = ref _entries[EntryOf(slot)];
                    if (EarlyDropPolicy.Evictable(in e) && EarlyDropPolicy.Prefer(in e, soonest))
                    {
                        victim = EntryOf(slot);
                        soonest = e.Expires;
                    }
                }
            }

            bucket = (bucket + 1) & _bucketMask;
        }

        if (victim < 0)
        {
            return false;
        }

        RemoveLocked(victim);
        return true;
    }

    /// <summary>Removes an entry (a flow that ended or was flushed).</summary>
    public void Remove(int entry)
    {
        lock (_writeLock)
        {
            RemoveLocked(entry);
        }
    }

    /// <summary>Removes every live entry matching <paramref name="match"/> (endpoint or service removal). Returns how many.</summary>
    public int RemoveWhere(Func<FlowEntry, bool> match)
    {
        int removed = 0;
        lock (_writeLock)
        {
            for (int b = 0; b <= _bucketMask; b++)
            {
                int start = b * SlotsPerBucket;
                for (int s = start + 1; s < start + SlotsPerBucket; s++)
                {
                    ulong slot = _index[s];
                    if (slot != 0 && (slot & 1) == 0 && match(_entries[EntryOf(slot)]))
                    {
                        RemoveLocked(EntryOf(slot));
                        removed++;
                    }
                }
            }
        }

        return removed;
    }

    /// <summary>
    /// Frees expired entries in the next <paramref name="buckets"/> buckets of the stripe
    /// [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>) from
    /// <paramref name="cursor"/> (an offset in the stripe, wrapping) on, and moves the cursor past them. The
    /// buckets are read without the lock; the lock is taken once, from the first bucket holding an expired entry
    /// to the last one of this call, and only when there is such a bucket (<paramref name="locked"/>).
    /// </summary>
    internal int SweepStripe(long now, int first, int count, ref int cursor, int buckets, out bool locked)
    {
        for (int n = 0; n < buckets; n++)
        {
            if (BucketHasExpired(first + cursor, now))
            {
                locked = true;
                int removed = 0;
                lock (_writeLock)
                {
                    for (; n < buckets; n++)
                    {
                        removed += SweepBucketLocked(first + cursor, now);
                        cursor = cursor + 1 == count ? 0 : cursor + 1;
                    }
                }

                return removed;
            }

            cursor = cursor + 1 == count ? 0 : cursor + 1;
        }

        locked = false;
        return 0;
    }

    /// <summary>Live entries, copied (allocates): for tests and tools; `ctl conntrack` pages the table in place instead.</summary>
    public List<(int Index, FlowEntry Entry)> Snapshot(long now)
    {
        var result = new List<(int, FlowEntry)>();
        lock (_writeLock)
        {
            for (int i = 0; i < _index.Length; i++)
            {
                ulong slot = _index[i];
                if (i % SlotsPerBucket != 0 && slot != 0 && (slot & 1) == 0)
                {
                    int entry = EntryOf(slot);
                    if (_entries[entry].Expires > now)
                    {
                        result.Add((entry, _entries[entry]));
                    }
                }
            }
        }

        return result;
    }

    private int SweepLocked(long now, int buckets)
    {
        int removed = 0;
        for (int n = 0; n < buckets; n++)
        {
            removed += SweepBucketLocked(_sweepCursor, now);
            _sweepCursor = (_sweepCursor + 1) & _bucketMask;
        }

        return removed;
    }

    private int SweepBucketLocked(int bucket, long now)
    {
        int removed = 0;
        int start = bucket * SlotsPerBucket;
        for (int s = start + 1; s < start + SlotsPerBucket; s++)
        {
            ulong slot = _index[s];
            if (slot != 0 && (slot & 1) == 0 && _entries[EntryOf(slot)].Expires <= now)
            {
                RemoveLocked(EntryOf(slot));
                removed++;
            }
        }

        return removed;
    }

    /// <summary>
    /// Whether a bucket holds the original-direction slot of an expired entry, read without the lock. A slot or
    /// entry changing meanwhile can only make this a false alarm (the locked pass checks again) or a miss that the
    /// stripe's next pass catches: every entry has exactly one original slot, so exactly one stripe frees it.
    /// </summary>
    private bool BucketHasExpired(int bucket, long now)
    {
        int start = bucket * SlotsPerBucket;
        for (int s = start + 1; s < start + SlotsPerBucket; s++)
        {
            ulong slot = Volatile.Read(ref _index[s]);
            if (slot != 0 && (slot & 1) == 0 && Volatile.Read(ref _entries[EntryOf(slot)].Expires) <= now)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Makes sure no live flow already owns the reply tuple. On a clash, tries source ports from a hash-chosen start
    /// in the ephemeral range (32768-60999, Linux's default ip_local_port_range). A flow source-NATed to the node
    /// (<see cref="FlowFlags.SnatNode"/>) keeps its own port when <see cref="NodeSnat"/> allows it and it is free, and
    /// otherwise takes one of the node's SNAT ports (nf_nat's get_unique_tuple). A TCP flow may take over the tuple of
    /// a connection in TIME_WAIT or CLOSE (Linux 6.4's "allow reusing of tuple with TIME_WAIT/CLOSE state"): without
    /// that, one client opening connections to one backend through the node would exhaust the range within the
    /// TIME_WAIT timeout (measured: NodePort connections/s fell to 7% of the kernel's).
    /// </summary>
    private bool ReplyKeyFree(ref FlowEntry candidate, ref FlowKey replyKey, long now, bool allowPortRemap)
    {
        bool node = (candidate.Flags & FlowFlags.SnatNode) != 0;
        bool tcp = candidate.Original.Protocol == IpProtocol.Tcp;
        bool ported = candidate.Original.Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp;
        if (node)
        {
            if (!ported && candidate.Original.Protocol is not (IpProtocol.Icmp or IpProtocol.Icmpv6))
            {
                return false;
            }

            // An echo's identifier is not a port the node-port rule is about; a port is kept only where allowed.
            ushort own = candidate.Original.SourcePort;
            if ((!ported || _nodeSnat.Allows(own)) && IsFree(in replyKey, now, tcp))
            {
                candidate.SnatPort = own;
                candidate.Flags |= FlowFlags.SnatPort;
                return true;
            }
        }
        else if (IsFree(in replyKey, now, tcp))
        {
            return true;
        }

        if ((!allowPortRemap && !node) || !(ported || node))
        {
            return false;
        }

        int count = node ? _nodeSnat.Count : 60999 - 32768 + 1;
        if (count <= 0)
        {
            return false;
        }

        int start = (int)(candidate.Original.Hash() % (ulong)count);

        // A stride prime to the range's length visits distinct ports; 128 tries find a free one unless the range is
        // nearly full for this destination (then the flow is refused and counted, not given a taken tuple).
        int stride = count % 7919 == 0 ? 7927 : 7919;
        for (int attempt = 0; attempt < Math.Min(128, count); attempt++)
        {
            int index = (int)(((long)start + ((long)attempt * stride)) % count);
            ushort port = node ? _nodeSnat.At(index) : (ushort)(32768 + index);
            replyKey.DestinationPort = port;
            if (IsFree(in replyKey, now, tcp))
            {
                candidate.SnatPort = port;
                candidate.Flags |= FlowFlags.SnatPort;
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when no live flow owns <paramref name="key"/>; a dead owner is removed so the key is not published twice,
    /// and so is a TCP owner in TIME_WAIT or CLOSE when <paramref name="reuseClosed"/> (a new TCP flow's SYN).
    /// </summary>
    private bool IsFree(in FlowKey key, long now, bool reuseClosed)
    {
        if (!Find(in key, key.Hash(), out int owner, out _))
        {
            return true;
        }

        ref FlowEntry e = ref _entries[owner];
        if (e.Expires > now && !(reuseClosed && e.Original.Protocol == IpProtocol.Tcp && e.TcpState is TcpState.TimeWait or TcpState.Close))
        {
            return false;
        }

        RemoveLocked(owner);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Find(in FlowKey key, ulong hash, out int entry, out bool reply)
    {
        uint signature = (uint)(hash >> 32);
        int bucket = (int)hash & _bucketMask;
        for (int probe = 0; probe < MaxProbe; probe++)
        {
            int start = bucket * SlotsPerBucket;
            for (int s = start + 1; s < start + SlotsPerBucket; s++)
            {
                ulong slot = Volatile.Read(ref _index[s]);
                if ((uint)(slot >> 32) == signature && slot != 0 && Matches(slot, in key))
                {
                    entry = EntryOf(slot);
                    reply = (slot & 1) != 0;
                    return true;
                }
            }

            if (Volatile.Read(ref _index[start]) == 0)
            {
                break;
            }

            bucket = (bucket + 1) & _bucketMask;
        }

        entry = -1;
        reply = false;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Matches(ulong slot, in FlowKey key)
    {
        ref FlowEntry e = ref _entries[EntryOf(slot)];
        uint before = Volatile.Read(ref e.Version);
        bool match = (slot & 1) == 0 ? e.Original.Equals(key) : MatchesReply(in e, in key);
        StoreLoadFenceOnWeakMemory();
        return match && (before & 1) == 0 && Volatile.Read(ref e.Version) == before;
    }

    /// <summary>
    /// The seqlock needs the entry's writes ordered after the odd version (writer) and its reads before the
    /// second version read (reader). x86's TSO gives both for free; ARM64 needs a full fence. The JIT removes
    /// the branch, so x64 pays nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLoadFenceOnWeakMemory()
    {
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported)
        {
            Interlocked.MemoryBarrier();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool MatchesReply(in FlowEntry e, in FlowKey key) => ReplyKey(in e).Equals(key);

    private bool TryPublish(ulong hash, int entry, bool reply)
    {
        uint signature = (uint)(hash >> 32);
        ulong value = ((ulong)signature << 32) | ((ulong)(uint)(entry + 1) << 1) | (reply ? 1UL : 0UL);
        int home = (int)hash & _bucketMask;
        int bucket = home;
        for (int probe = 0; probe < MaxProbe; probe++)
        {
            int start = bucket * SlotsPerBucket;
            for (int s = start + 1; s < start + SlotsPerBucket; s++)
            {
                if (_index[s] == 0)
                {
                    // Count the overflow in every bucket we passed before publishing, so a concurrent reader
                    // that finds this key's home bucket full knows to keep probing.
                    for (int b = home; b != bucket; b = (b + 1) & _bucketMask)
                    {
                        _index[b * SlotsPerBucket]++;
                    }

                    Volatile.Write(ref _index[s], value);
                    return true;
                }
            }

            bucket = (bucket + 1) & _bucketMask;
        }

        return false;
    }

    private void Unpublish(ulong hash, int entry, bool reply)
    {
        int home = (int)hash & _bucketMask;
        int bucket = home;
        for (int probe = 0; probe < MaxProbe; probe++)
        {
            int start = bucket * SlotsPerBucket;
            for (int s = start + 1; s < start + SlotsPerBucket; s++)
            {
                ulong slot = _index[s];
                if (slot != 0 && EntryOf(slot) == entry && ((slot & 1) != 0) == reply)
                {
                    Volatile.Write(ref _index[s], 0);
                    for (int b = home; b != bucket; b = (b + 1) & _bucketMask)
                    {
                        _index[b * SlotsPerBucket]--;
                    }

                    return;
                }
            }

            bucket = (bucket + 1) & _bucketMask;
        }
    }

    private void RemoveLocked(int entry)
    {
        ref FlowEntry e = ref _entries[entry];
        Unpublish(e.Original.Hash(), entry, reply: false);
        Unpublish(ReplyKey(in e).Hash(), entry, reply: true);
        Release(entry, ended: true);
    }

    /// <param name="ended">A published flow ended (tell <see cref="ServiceFlowEnded"/>), rather than an insert being undone.</param>
    private void Release(int entry, bool ended)
    {
        ref FlowEntry e = ref _entries[entry];
        if (ended && (e.Flags & (FlowFlags.Service | FlowFlags.Released)) == FlowFlags.Service)
        {
            ServiceFlowEnded?.Invoke(e);
        }

        if (ended && Events.Active)
        {
            Events.TryPublish(FlowEventKind.End, in e, Counters(entry));
        }

        _podLimits?.Release(e.Owner);
        e.Expires = 0;
        _free[_freeCount++] = entry;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int EntryOf(ulong slot) => (int)((uint)slot >> 1) - 1;
}
