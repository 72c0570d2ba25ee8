using System.Runtime.CompilerServices;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// At most one ARP request / neighbor solicitation per destination per <see cref="IntervalNanoseconds"/> for hosts on
/// a connected subnet, per worker (one per lookup stage, so nothing is shared): a glean adjacency stands for a whole
/// subnet and has no per-host <see cref="Adjacency.LastSolicit"/>. VPP throttles its glean the same way, per thread by
/// a hash. 64 slots by hash; a collision forgets the older destination, which may then be asked for again early: at
/// worst one extra request, never none.
/// </summary>
public sealed class SolicitThrottle
{
    /// <summary>Linux's retrans_time, as for next hops.</summary>
    public const long IntervalNanoseconds = Adjacency.SolicitIntervalNanoseconds;

    private const int Slots = 64;

    private readonly ulong[] _hi = new ulong[Slots];
    private readonly ulong[] _lo = new ulong[Slots];
    private readonly long[] _at = new long[Slots];

    /// <summary>True (and remembered) when no request for <paramref name="destination"/> went out in the last interval.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTake(IpAddress destination, long now)
    {
        Ip6Address key = destination.Bits;
        int slot = (int)(StableHash.Mix(key.Hi ^ key.Lo) & (Slots - 1));
        if (_hi[slot] == key.Hi && _lo[slot] == key.Lo && now - _at[slot] < IntervalNanoseconds)
        {
            return false;
        }

        _hi[slot] = key.Hi;
        _lo[slot] = key.Lo;
        _at[slot] = now;
        return true;
    }
}
