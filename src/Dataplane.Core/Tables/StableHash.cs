using System.Runtime.CompilerServices;

namespace Dataplane.Tables;

/// <summary>
/// Deterministic hashing for table keys. Not <see cref="HashCode"/>: its per-process random seed would give
/// every node (and every restart) a different Maglev table, so a flow would change backend when the node that
/// picks it changes, which is the one thing Maglev exists to prevent.
/// </summary>
internal static class StableHash
{
    /// <summary>MurmurHash3's 64-bit finalizer (fmix64): every input bit flips each output bit with p ~ 1/2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51_AFD7_ED55_8CCDUL;
        x ^= x >> 33;
        x *= 0xC4CE_B9FE_1A85_EC53UL;
        x ^= x >> 33;
        return x;
    }

    /// <summary>A 64-bit hash of 128 bits under a seed; different seeds give independent hash functions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ulong hi, ulong lo, ulong seed) => Mix(hi ^ Mix(lo ^ seed));

    /// <summary>
    /// Maps a 32-bit hash uniformly onto [0, n) with one multiply (Lemire's "fast range") instead of a division by a
    /// non-constant n, which costs ~25-40 cycles on x64. It uses the hash's high bits, so the hash must be well mixed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Range(uint hash, int n) => (int)(((ulong)hash * (uint)n) >> 32);
}
