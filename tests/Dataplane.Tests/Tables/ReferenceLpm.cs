namespace Dataplane.Tests.Tables;

/// <summary>
/// The test oracle: the textbook longest match, "try every length from longest to shortest in a hash of
/// prefixes of that length", sharing no code or layout with the tries. (A plain list scan is checked
/// against it on a sample; scanning 100k prefixes for each of 1M addresses would be 10^11 compares.)
/// Addresses are left-aligned in a UInt128 so one class serves both families.
/// </summary>
internal sealed class ReferenceLpm
{
    private readonly int _width;
    private readonly Dictionary<UInt128, int>[] _rules;

    public ReferenceLpm(int width)
    {
        _width = width;
        _rules = new Dictionary<UInt128, int>[width + 1];
        for (int i = 0; i <= width; i++)
        {
            _rules[i] = new Dictionary<UInt128, int>(Cheap128.Instance);
        }
    }

    public int Count => _rules.Sum(r => r.Count);

    /// <summary>The first <paramref name="length"/> bits of a left-aligned address.</summary>
    public static UInt128 Mask(UInt128 address, int length)
        => length == 0 ? UInt128.Zero : address & (UInt128.MaxValue << (128 - length));

    public void Set(UInt128 network, int length, int nextHop) => _rules[length][network] = nextHop;

    public bool Remove(UInt128 network, int length) => _rules[length].Remove(network);

    public IEnumerable<(UInt128 Network, int Length, int NextHop)> All()
        => _rules.SelectMany((r, length) => r.Select(kv => (kv.Key, length, kv.Value)));

    public int Lookup(UInt128 address)
    {
        for (int length = _width; length >= 0; length--)
        {
            Dictionary<UInt128, int> rules = _rules[length];
            if (rules.Count != 0 && rules.TryGetValue(Mask(address, length), out int nextHop))
            {
                return nextHop;
            }
        }

        return -1;
    }

    /// <summary>Every rule as a flat array, for <see cref="LookupByScan"/>.</summary>
    public (UInt128 Network, int Length, int NextHop)[] Snapshot() => All().ToArray();

    /// <summary>The same answer by scanning every rule: slow, only to check <see cref="Lookup"/> on a sample.</summary>
    public int LookupByScan((UInt128 Network, int Length, int NextHop)[] rules, UInt128 address)
    {
        int best = -1;
        int bestLength = -1;
        foreach ((UInt128 network, int length, int nextHop) in rules)
        {
            if (length > bestLength && Mask(address, length) == network)
            {
                best = nextHop;
                bestLength = length;
            }
        }

        return best;
    }

    /// <summary>
    /// A multiply-xor hash: the default UInt128 hash made the 100k-prefix IPv6 test spend ~14 s probing
    /// ~100 lengths per lookup.
    /// </summary>
    private sealed class Cheap128 : IEqualityComparer<UInt128>
    {
        public static readonly Cheap128 Instance = new();

        public bool Equals(UInt128 x, UInt128 y) => x == y;

        public int GetHashCode(UInt128 value)
            => (int)((((ulong)(value >> 64) * 0x9E37_79B9_7F4A_7C15) ^ ((ulong)value * 0xC2B2_AE3D_27D4_EB4F)) >> 32);
    }
}
