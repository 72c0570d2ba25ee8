using System.Runtime.CompilerServices;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>What <see cref="NeighborTable.Learn"/> did.</summary>
public enum NeighborLearn : byte
{
    /// <summary>Nothing: not on a connected subnet, not known and not to be created, or another writer held the entry.</summary>
    None,

    /// <summary>Known with this MAC already: its confirmation time moved on.</summary>
    Refreshed,

    /// <summary>A new neighbour.</summary>
    Added,

    /// <summary>Known with another MAC (the host changed its NIC, or a gratuitous ARP moved the address): now this one.</summary>
    Changed,
}

/// <summary>
/// The hosts on the uplink's connected subnets, IP to MAC: Linux's neighbour table, VPP's ip-neighbor behind a glean
/// adjacency. A packet routed to the uplink's own subnet (an outside client, the router, a node with no route entry)
/// goes to the MAC found here. Learned on the uplink from ARP and ND as Linux does: a request or solicitation for our
/// address creates an entry for the asker (so answering an outside client needs no resolution of our own), a reply
/// or advertisement to us creates one for the sender, and any other ARP or ND only updates an entry that exists.
/// <para>Fixed capacity: <see cref="DefaultCapacity"/> hosts (a /22 fully used), power-of-two buckets of four by a
/// seeded hash. When a new neighbour's bucket is full, the entry confirmed longest ago gives way (<see cref="Evictions"/>):
/// a neighbour cache may forget, and the next packet to a forgotten host resolves it again. An entry not confirmed
/// for <see cref="MaxAgeNanoseconds"/> is not used (the next packet asks again), so a host that moved without a
/// gratuitous ARP is found within that time.</para>
/// <para>Lookups on the packet path take no lock: each entry carries a sequence number (a seqlock). A writer takes an
/// entry by making its sequence odd with one compare-and-swap, writes, and makes it even again; a reader that sees an
/// odd or changed sequence treats the entry as absent for that packet. A writer that finds the entry taken gives up
/// (<see cref="Contended"/>): the next ARP from that host learns it.</para>
/// </summary>
public sealed class NeighborTable
{
    /// <summary>Hosts a node's uplink subnet holds in practice (its peers, router and clients), with room to spare.</summary>
    public const int DefaultCapacity = 1024;

    /// <summary>Five minutes: how long a neighbour is used after its last ARP or ND (Linux keeps STALE entries about as long).</summary>
    public const long MaxAgeNanoseconds = 300L * 1_000_000_000;

    private const int BucketSize = 4;

    private readonly Entry[] _entries;
    private readonly int _bucketMask;
    private readonly ulong _seed = (ulong)Random.Shared.NextInt64();
    private IpPrefix[] _connected = [];
    private long _evictions;
    private long _contended;

    /// <param name="capacity">Rounded up to a power of two, at least one bucket.</param>
    public NeighborTable(int capacity = DefaultCapacity)
    {
        int buckets = (int)Math.Max(1, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, BucketSize)) / BucketSize);
        _entries = new Entry[buckets * BucketSize];
        _bucketMask = buckets - 1;
    }

    public int Capacity => _entries.Length;

    /// <summary>Neighbours forgotten to make room for new ones.</summary>
    public long Evictions => Volatile.Read(ref _evictions);

    /// <summary>Learns given up because another worker was writing the same entry.</summary>
    public long Contended => Volatile.Read(ref _contended);

    /// <summary>The connected subnets whose hosts are learned (the uplink's IPv4 and IPv6 prefixes), set once at build.</summary>
    public IReadOnlyList<IpPrefix> Connected => _connected;

    public void AddConnected(IpPrefix subnet) => _connected = [.. _connected, subnet];

    /// <summary>Whether <paramref name="ip"/> is on one of the <see cref="Connected"/> subnets.</summary>
    public bool IsConnected(IpAddress ip) => IpPrefix.AnyContains(_connected, ip);

    /// <summary>The MAC of <paramref name="ip"/>, or 0 when it is unknown or older than <see cref="MaxAgeNanoseconds"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Lookup(IpAddress ip, long now)
    {
        Ip6Address key = ip.Bits;
        int first = Bucket(key);
        for (int i = first; i < first + BucketSize; i++)
        {
            ref Entry e = ref _entries[i];
            int sequence = Volatile.Read(ref e.Sequence);
            ulong hi = Volatile.Read(ref e.Hi);
            ulong lo = Volatile.Read(ref e.Lo);
            ulong mac = Volatile.Read(ref e.Mac);
            long confirmed = Volatile.Read(ref e.Confirmed);
            if ((sequence & 1) != 0 || Volatile.Read(ref e.Sequence) != sequence || mac == 0 || hi != key.Hi || lo != key.Lo)
            {
                continue;
            }

            return now - confirmed <= MaxAgeNanoseconds ? mac : 0;
        }

        return 0;
    }

    /// <summary>
    /// <paramref name="ip"/> is at <paramref name="mac"/> as of <paramref name="now"/>. Only hosts on a connected subnet
    /// are learned; an unknown one only when <paramref name="create"/> (it asked for us, or answered us).
    /// </summary>
    public NeighborLearn Learn(IpAddress ip, MacAddress mac, long now, bool create)
    {
        if (mac.IsZero || mac.IsMulticast || !IsConnected(ip))
        {
            return NeighborLearn.None;
        }

        Ip6Address key = ip.Bits;
        int first = Bucket(key);
        int victim = -1;
        long oldest = long.MaxValue;
        for (int i = first; i < first + BucketSize; i++)
        {
            ref Entry e = ref _entries[i];
            ulong known = Volatile.Read(ref e.Mac);
            if (known != 0 && Volatile.Read(ref e.Hi) == key.Hi && Volatile.Read(ref e.Lo) == key.Lo)
            {
                return Write(ref e, key, mac.Value, now, expectKey: true) ? (known == mac.Value ? NeighborLearn.Refreshed : NeighborLearn.Changed) : NeighborLearn.None;
            }

            long confirmed = known == 0 ? long.MinValue : Volatile.Read(ref e.Confirmed);
            if (confirmed < oldest)
            {
                oldest = confirmed;
                victim = i;
            }
        }

        if (!create)
        {
            return NeighborLearn.None;
        }

        ref Entry slot = ref _entries[victim];
        bool evicting = Volatile.Read(ref slot.Mac) != 0;
        if (!Write(ref slot, key, mac.Value, now, expectKey: false))
        {
            return NeighborLearn.None;
        }

        if (evicting)
        {
            Interlocked.Increment(ref _evictions);
        }

        return NeighborLearn.Added;
    }

    /// <summary>Every neighbour, for `ctl` and tests (allocates; not for the packet path).</summary>
    public List<(IpAddress Ip, MacAddress Mac, long Confirmed)> Snapshot()
    {
        var result = new List<(IpAddress, MacAddress, long)>();
        for (int i = 0; i < _entries.Length; i++)
        {
            ref Entry e = ref _entries[i];
            int sequence = Volatile.Read(ref e.Sequence);
            var entry = (new IpAddress(new Ip6Address(Volatile.Read(ref e.Hi), Volatile.Read(ref e.Lo))), new MacAddress(Volatile.Read(ref e.Mac)), Volatile.Read(ref e.Confirmed));
            if ((sequence & 1) == 0 && Volatile.Read(ref e.Sequence) == sequence && entry.Item2.Value != 0)
            {
                result.Add(entry);
            }
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Bucket(Ip6Address key) => (int)(StableHash.Hash(key.Hi, key.Lo, _seed) & (ulong)_bucketMask) * BucketSize;

    /// <summary>Takes the entry (odd sequence), writes it, releases it (even); false when another writer holds it or took it meanwhile.</summary>
    private bool Write(ref Entry e, Ip6Address key, ulong mac, long now, bool expectKey)
    {
        int sequence = Volatile.Read(ref e.Sequence);
        if ((sequence & 1) != 0 || Interlocked.CompareExchange(ref e.Sequence, sequence + 1, sequence) != sequence)
        {
            Interlocked.Increment(ref _contended);
            return false;
        }

        if (expectKey && (e.Hi != key.Hi || e.Lo != key.Lo))
        {
            // Replaced by another host between our read and our take: leave it.
            Volatile.Write(ref e.Sequence, sequence + 2);
            Interlocked.Increment(ref _contended);
            return false;
        }

        e.Hi = key.Hi;
        e.Lo = key.Lo;
        e.Mac = mac;
        e.Confirmed = now;
        Volatile.Write(ref e.Sequence, sequence + 2);
        return true;
    }

    /// <summary>One neighbour; <see cref="Mac"/> 0 is a free entry.</summary>
    private struct Entry
    {
        public int Sequence;
        public ulong Hi;
        public ulong Lo;
        public ulong Mac;
        public long Confirmed;
    }
}
