using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// ClientIP session affinity for one service port: client -&gt; (backend stable id, last use). Fixed capacity, never
/// grows; entries expire lazily after the timeout without use (refreshed on every new flow, like IPVS persistence
/// and iptables <c>recent --rcheck --seconds</c>). When a client's bucket is full of live entries, the caller falls
/// back to its scheduler and counts <c>AffinityFull</c>.
/// <para>
/// Layout follows VPP's lbhash: 4 slots per bucket, each slot a key word and a value word, so one bucket is one
/// 64-byte line (the array is pinned and the first bucket aligned). The key is the client's low address word for
/// addresses whose high word is 0 (all IPv4, v4-mapped: exact) and a 64-bit hash otherwise (IPv6: a collision
/// needs ~2^32 clients in one port's table, and costs only shared affinity).
/// </para>
/// <para>
/// Concurrency: several workers read and write without locks. The value packs (stable id &lt;&lt; 32 | time) in one
/// 64-bit word, written with <see cref="Interlocked.CompareExchange(ref ulong, ulong, ulong)"/>, so a reader never
/// sees half of one backend and half of another; the id is then checked against the current snapshot, so a stale or
/// raced entry can at worst send one new flow to another live backend, never to a removed or terminating one. A new
/// entry claims its slot by CAS on the value before writing the key: anyone still matching the slot's old key then
/// sees a fresh value for an entry that was dead (empty or expired) anyway.
/// </para>
/// </summary>
internal sealed class AffinityTable
{
    /// <summary>Per port: 4096 clients x 16 B = 64 KB, only for ClientIP services.</summary>
    public const int DefaultCapacity = 4096;

    /// <summary>Time is kept in units of 2^24 ns (16.8 ms): 32 bits then span 2^31 units = 416 days before wrap.</summary>
    public const int TimeShift = 24;

    private const int SlotsPerBucket = 4;
    private const int WordsPerBucket = 2 * SlotsPerBucket;

    private readonly ulong[] _words; // pinned: [key, value] x 4 per bucket; value 0 = empty
    private readonly int _first;     // index of the first 64-byte aligned word
    private readonly int _bucketMask;

    public AffinityTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, SlotsPerBucket);
        int buckets = (int)BitOperations.RoundUpToPowerOf2((uint)((capacity + SlotsPerBucket - 1) / SlotsPerBucket));
        _bucketMask = buckets - 1;
        _words = GC.AllocateArray<ulong>(buckets * WordsPerBucket + WordsPerBucket, pinned: true);
        unsafe
        {
            nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_words));
            _first = (int)((64 - (address & 63)) & 63) / sizeof(ulong);
        }
    }

    public int Capacity => (_bucketMask + 1) * SlotsPerBucket;

    /// <summary>The table key for a client address (see the type's remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ClientKey(in IpAddress client)
    {
        Ip6Address bits = client.Bits;
        return bits.Hi == 0 ? bits.Lo : StableHash.Hash(bits.Hi, bits.Lo, 0x510E_527F_ADE6_82D1UL) | 1UL << 63;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint TimeUnits(long nanoseconds) => (uint)((ulong)nanoseconds >> TimeShift);

    public static uint TimeoutUnits(int seconds) => (uint)Math.Min(int.MaxValue, ((long)seconds * 1_000_000_000L + (1L << TimeShift) - 1) >> TimeShift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Pack(int stableId, uint timeUnits) => (ulong)(uint)stableId << 32 | timeUnits;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int StableIdOf(ulong value) => (int)(value >> 32);

    /// <summary>Expired when unused for longer than the timeout. A time slightly behind (another worker's clock) reads as fresh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsExpired(ulong value, uint nowUnits, uint timeoutUnits) => (int)(nowUnits - (uint)value) > (int)timeoutUnits;

    /// <summary>The word index of the slot holding <paramref name="key"/> (live or expired), or -1; <paramref name="value"/> as read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ulong key, out ulong value)
    {
        ref ulong words = ref MemoryMarshal.GetArrayDataReference(_words);
        int bucket = BucketOf(key);
        for (int s = 0; s < SlotsPerBucket; s++)
        {
            int k = bucket + 2 * s;
            if (Volatile.Read(ref Unsafe.Add(ref words, k)) == key)
            {
                value = Volatile.Read(ref Unsafe.Add(ref words, k + 1));
                if (value != 0)
                {
                    return k;
                }
            }
        }

        value = 0;
        return -1;
    }

    /// <summary>A slot to store a new entry for <paramref name="key"/>: an empty one, else the oldest expired one, else -1 (full).</summary>
    public int FindFree(ulong key, uint nowUnits, uint timeoutUnits, out ulong observed)
    {
        ref ulong words = ref MemoryMarshal.GetArrayDataReference(_words);
        int bucket = BucketOf(key);
        int best = -1;
        observed = 0;
        for (int s = 0; s < SlotsPerBucket; s++)
        {
            int k = bucket + 2 * s;
            ulong value = Volatile.Read(ref Unsafe.Add(ref words, k + 1));
            if (value == 0)
            {
                observed = 0;
                return k;
            }

            if (IsExpired(value, nowUnits, timeoutUnits) && (best < 0 || (int)((uint)value - (uint)observed) < 0))
            {
                best = k;
                observed = value;
            }
        }

        return best;
    }

    /// <summary>
    /// Stores <paramref name="value"/> for <paramref name="key"/> in slot <paramref name="slot"/> if its value is still
    /// <paramref name="observed"/>; false when another worker got there first (that worker's entry stands).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryStore(int slot, ulong key, ulong observed, ulong value)
    {
        ref ulong words = ref MemoryMarshal.GetArrayDataReference(_words);
        if (Interlocked.CompareExchange(ref Unsafe.Add(ref words, slot + 1), value, observed) != observed)
        {
            return false;
        }

        if (Volatile.Read(ref Unsafe.Add(ref words, slot)) != key)
        {
            Volatile.Write(ref Unsafe.Add(ref words, slot), key);
        }

        return true;
    }

    /// <summary>Live entries at <paramref name="nowUnits"/> (for <c>ctl services</c>; walks the whole table).</summary>
    public int CountLive(uint nowUnits, uint timeoutUnits)
    {
        int live = 0;
        for (int k = _first; k < _first + (_bucketMask + 1) * WordsPerBucket; k += 2)
        {
            ulong value = Volatile.Read(ref _words[k + 1]);
            if (value != 0 && !IsExpired(value, nowUnits, timeoutUnits))
            {
                live++;
            }
        }

        return live;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int BucketOf(ulong key) => _first + ((int)StableHash.Mix(key) & _bucketMask) * WordsPerBucket;
}
