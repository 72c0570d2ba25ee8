using System.Numerics;
using System.Runtime.CompilerServices;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// The bridge's MAC learning table (MAC -> pod port), with aging. Fixed capacity, never grows: a learn into a
/// full bucket first evicts an aged entry, else is refused (the bridge counts it; the frame is still
/// forwarded, and replies to that MAC are flooded). Layout after VPP's l2fib/lbhash: 8-way buckets whose keys fill one 64-byte
/// line; each slot packs MAC and port into one ulong so a concurrent reader never sees a MAC with another's port.
/// </summary>
public sealed class MacTable
{
    private const int Ways = 8;
    private const ulong EmptySlot = 0;

    /// <summary>The last-seen time of a static entry: never older than the aging time, never refreshed.</summary>
    private const long Static = long.MaxValue;

    private readonly ulong[] _slots;
    private readonly long[] _lastSeen;
    private readonly int _bucketMask;
    private readonly long _agingNanoseconds;

    /// <param name="capacity">Entries; rounded up to a power of two of at least 8.</param>
    /// <param name="agingSeconds">An entry not refreshed for this long is gone (Linux bridge default: 300 s).</param>
    public MacTable(int capacity, int agingSeconds)
    {
        int entries = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, Ways));
        _slots = new ulong[entries];
        _lastSeen = new long[entries];
        _bucketMask = (entries / Ways) - 1;
        _agingNanoseconds = agingSeconds * 1_000_000_000L;
        Capacity = entries;
    }

    public int Capacity { get; }

    /// <summary>Looks up the port a MAC was last seen on; false when unknown or aged out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(MacAddress mac, long now, out ushort port)
    {
        int bucket = Bucket(mac) * Ways;
        ulong key = mac.Value << 16;
        for (int i = bucket; i < bucket + Ways; i++)
        {
            ulong slot = Volatile.Read(ref _slots[i]);
            if ((slot & ~0xFFFFUL) == key && slot != EmptySlot && now - _lastSeen[i] <= _agingNanoseconds)
            {
                port = (ushort)((slot & 0xFFFF) - 1);
                return true;
            }
        }

        port = 0;
        return false;
    }

    /// <summary>
    /// Records that <paramref name="mac"/> was seen on <paramref name="port"/>. The timestamp is only rewritten
    /// when it is more than a second old, so steady traffic does not dirty the line on every packet.
    /// Returns false when the table had no room for a new MAC.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Learn(MacAddress mac, ushort port, long now)
    {
        int bucket = Bucket(mac) * Ways;
        ulong key = mac.Value << 16;
        ulong value = key | (ushort)(port + 1);
        for (int i = bucket; i < bucket + Ways; i++)
        {
            ulong slot = _slots[i];
            if ((slot & ~0xFFFFUL) == key && slot != EmptySlot)
            {
                if (_lastSeen[i] == Static)
                {
                    return true;
                }

                if (slot != value)
                {
                    Volatile.Write(ref _slots[i], value);
                    _lastSeen[i] = now;
                }
                else if (now - _lastSeen[i] > 1_000_000_000L)
                {
                    _lastSeen[i] = now;
                }

                return true;
            }
        }

        return LearnNew(bucket, value, now);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool LearnNew(int bucket, ulong value, long now)
    {
        int victim = -1;
        for (int i = bucket; i < bucket + Ways; i++)
        {
            if (_slots[i] == EmptySlot || now - _lastSeen[i] > _agingNanoseconds)
            {
                victim = i;
                break;
            }
        }

        if (victim < 0)
        {
            return false;
        }

        _lastSeen[victim] = now;
        Volatile.Write(ref _slots[victim], value);
        return true;
    }

    /// <summary>
    /// A MAC known from config or the pod's attachment, not from traffic: never ages, never moves to another port by
    /// learning, never evicted, so a frame to a pod is never flooded to the others, even before the pod has sent
    /// anything. False when the MAC's bucket is full of static entries.
    /// </summary>
    public bool AddStatic(MacAddress mac, ushort port)
    {
        int bucket = Bucket(mac) * Ways;
        ulong key = mac.Value << 16;
        ulong value = key | (ushort)(port + 1);
        int victim = -1;
        for (int i = bucket; i < bucket + Ways; i++)
        {
            ulong slot = _slots[i];
            if ((slot & ~0xFFFFUL) == key && slot != EmptySlot)
            {
                victim = i;
                break;
            }

            if (victim < 0 && (slot == EmptySlot || _lastSeen[i] != Static))
            {
                victim = i;
            }
        }

        if (victim < 0)
        {
            return false;
        }

        _lastSeen[victim] = Static;
        Volatile.Write(ref _slots[victim], value);
        return true;
    }

    /// <summary>Forgets every MAC on <paramref name="port"/> (the port went away).</summary>
    public void Flush(ushort port)
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] != EmptySlot && (ushort)((_slots[i] & 0xFFFF) - 1) == port)
            {
                Volatile.Write(ref _slots[i], EmptySlot);
            }
        }
    }

    /// <summary>Live entries, for `ctl` and tests.</summary>
    public IEnumerable<(MacAddress Mac, ushort Port, long LastSeen)> Entries(long now)
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            ulong slot = _slots[i];
            if (slot != EmptySlot && now - _lastSeen[i] <= _agingNanoseconds)
            {
                yield return (new MacAddress(slot >> 16), (ushort)((slot & 0xFFFF) - 1), _lastSeen[i]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Bucket(MacAddress mac)
    {
        // Fibonacci hashing: the low bits of locally administered MACs are often sequential, so mix them all.
        return (int)((mac.Value * 0x9E37_79B9_7F4A_7C15UL) >> 40) & _bucketMask;
    }
}
