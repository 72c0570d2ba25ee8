using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Tables;

/// <summary>
/// A Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer",
/// NSDI 2016, section 3.4): a prime number M of entries, each the index of a backend, filled so that every backend
/// owns a share of entries proportional to its weight and removing a backend reassigns (almost) only its entries.
/// A new flow takes <c>entries[hash -> [0, M)]</c>; it costs one multiply and one load from a table of 2 x M bytes
/// (32 KB at the default size, so it stays in L1/L2 for a hot service).
/// <para>
/// Immutable once built. Each backend's permutation comes from two independent hashes of its address only, and
/// backends are placed in address order, so the same backends give the same table on every node and after every
/// restart. Address, not address + port: all ports of one service share one endpoint set, so one table serves them
/// all (memory per service is one table per family, not one per port).
/// </para>
/// </summary>
public sealed class MaglevTable
{
    /// <summary>A prime just below 2^14: room for 163 backends at the paper's 100 entries each.</summary>
    public const int DefaultSize = 16381;

    /// <summary>Entries are ushort indices: half the cache footprint of int, and 65,535 backends is 6.5 M entries already.</summary>
    public const int MaxBackends = ushort.MaxValue;

    /// <summary>The paper keeps M &gt;= 100 x N so the largest and smallest shares differ by about 1%.</summary>
    public const int SlotsPerBackend = 100;

    private const ulong OffsetSeed = 0x6A09_E667_F3BC_C908UL;
    private const ulong SkipSeed = 0xBB67_AE85_84CA_A73BUL;

    private readonly ushort[] _entries;

    private MaglevTable(ushort[] entries, int backendCount)
    {
        _entries = entries;
        BackendCount = backendCount;
    }

    /// <summary>M, a prime.</summary>
    public int Size => _entries.Length;

    /// <summary>How many distinct backends own entries (the eligible ones passed to <see cref="Build"/>).</summary>
    public int BackendCount { get; }

    /// <summary>Each entry is an index into the backend span the table was built from.</summary>
    public ReadOnlySpan<ushort> Entries => _entries;

    /// <summary>The backend index for a flow hash. Uses fast range instead of <c>hash % M</c>: same uniformity, no divide.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Lookup(uint flowHash)
        => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_entries), StableHash.Range(flowHash, _entries.Length));

    /// <summary>The size for <paramref name="backendCount"/> backends: the smallest prime &gt;= max(minimum, 100 x backends).</summary>
    public static int SizeFor(int backendCount, int minimumSize = DefaultSize)
    {
        long wanted = Math.Max(minimumSize, (long)SlotsPerBackend * backendCount);
        return Primes.NextPrime((int)Math.Min(wanted, int.MaxValue - 32));
    }

    /// <summary>
    /// Builds a table of <paramref name="size"/> entries (a prime) over the eligible backends of
    /// <paramref name="backends"/> (not terminating, weight &gt; 0); entries are indices into that span.
    /// Order of the span does not matter: backends are placed in address order.
    /// </summary>
    /// <remarks>
    /// Weights follow Katran's MaglevHashV2: every round, each backend adds its weight to a credit and takes one
    /// entry each time the credit reaches the largest weight, so shares are proportional to weight and a backend of
    /// the largest weight takes a turn every round as in the paper. Cost is O(M log M) probes for equal weights.
    /// </remarks>
    public static MaglevTable Build(ReadOnlySpan<Backend> backends, int size = DefaultSize)
    {
        if (!Primes.IsPrime(size))
        {
            throw new ArgumentException($"Maglev table size {size} is not a prime", nameof(size));
        }

        // Eligible backends in address order, so the fill order (which breaks ties for contested entries) is the
        // same on every node whatever order the endpoints were listed in.
        int[] order = new int[backends.Length];
        int n = 0;
        for (int i = 0; i < backends.Length; i++)
        {
            if (backends[i].IsEligible)
            {
                order[n++] = i;
            }
        }

        if (n > MaxBackends || backends.Length > MaxBackends)
        {
            throw new ArgumentException($"{backends.Length} backends; a Maglev table holds at most {MaxBackends}", nameof(backends));
        }

        Backend[] copy = backends.ToArray();
        Array.Sort(order, 0, n, Comparer<int>.Create((a, b) =>
        {
            int c = copy[a].Ip.Bits.Hi.CompareTo(copy[b].Ip.Bits.Hi);
            return c != 0 ? c : copy[a].Ip.Bits.Lo.CompareTo(copy[b].Ip.Bits.Lo);
        }));

        var entries = new ushort[n == 0 ? 0 : size];
        if (n == 0)
        {
            return new MaglevTable(entries, 0);
        }

        var position = new int[n]; // the next entry of backend k's permutation: offset + j * skip (mod M)
        var skip = new int[n];
        var weight = new int[n];
        var credit = new int[n];
        int maxWeight = 0;
        for (int k = 0; k < n; k++)
        {
            Backend b = copy[order[k]];
            position[k] = (int)(StableHash.Hash(b.Ip.Bits.Hi, b.Ip.Bits.Lo, OffsetSeed) % (ulong)size);
            skip[k] = (int)(StableHash.Hash(b.Ip.Bits.Hi, b.Ip.Bits.Lo, SkipSeed) % (ulong)(size - 1)) + 1;
            weight[k] = b.Weight;
            maxWeight = Math.Max(maxWeight, b.Weight);
        }

        // Occupancy is a bitmap (M / 8 bytes: 2 KB at the default size, 12.5 KB at 100,003) so the probe loop below reads
        // 16x fewer cache lines than probing the ushort entries. Best of 40 builds (EPYC, .NET 10): 10 backends at
        // M = 16,381: 175 us probing entries, 110 us probing the bitmap; 1,000 backends at M = 100,003: 1.75 -> 1.65 ms.
        var taken = new ulong[(size + 63) >> 6];
        ref ulong taken0 = ref MemoryMarshal.GetArrayDataReference(taken);
        ref ushort entry0 = ref MemoryMarshal.GetArrayDataReference(entries);
        int filled = 0;
        while (true)
        {
            for (int k = 0; k < n; k++)
            {
                credit[k] += weight[k];
                if (credit[k] < maxWeight)
                {
                    continue;
                }

                credit[k] -= maxWeight;

                // Walk backend k's permutation to its next free entry. Near the end most entries are taken, so this
                // loop is the whole cost (~M ln M probes); it runs without bounds checks and with a branch-free wrap.
                int c = position[k];
                int s = skip[k];
                while ((Unsafe.Add(ref taken0, c >> 6) & (1UL << c)) != 0)
                {
                    c += s - size;
                    c += (c >> 31) & size;
                }

                Unsafe.Add(ref taken0, c >> 6) |= 1UL << c;
                Unsafe.Add(ref entry0, c) = (ushort)order[k];
                c += s - size;
                position[k] = c + ((c >> 31) & size);
                if (++filled == size)
                {
                    return new MaglevTable(entries, n);
                }
            }
        }
    }
}
