using System.Runtime.CompilerServices;

namespace Dataplane.Tables;

/// <summary>
/// A per-thread xorshift64 generator for the random scheduler: no lock, no allocation, ~1 ns. Not
/// <see cref="Random.Shared"/>, whose thread-safe wrapper costs a thread-static lookup plus a virtual call and
/// more state than we need. Seeded from a process-wide counter, never from a clock (replays must not read time).
/// </summary>
internal static class ThreadRandom
{
    [ThreadStatic]
    private static ulong t_state;

    private static long s_seeds;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Next()
    {
        ulong x = t_state;
        if (x == 0)
        {
            x = Seed();
        }

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t_state = x;
        return (uint)(x >> 32);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Seed() => StableHash.Mix((ulong)Interlocked.Increment(ref s_seeds) * 0x9E37_79B9_7F4A_7C15UL) | 1;
}
