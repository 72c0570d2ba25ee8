namespace Dataplane.Tests.Tables;

/// <summary>
/// Random route sets for the randomized FIB tests. Networks are left-aligned in a UInt128 (IPv4 in the top
/// 32 bits) so the reference oracle serves both families.
/// </summary>
internal static class RouteGenerator
{
    /// <summary>
    /// IPv4 prefixes with uniformly random bits and a length mix shaped like a routing table: mostly /24,
    /// a spread of /16-/23, a few /8-/15 that cover thousands of the others, and 20% /25-/32 (each in its own
    /// /24 as a rule, so about one tbl8 group per such prefix: the expensive case).
    /// </summary>
    public static int NextIp4Length(Random rng)
    {
        int p = rng.Next(100);
        return p switch
        {
            < 3 => rng.Next(8, 16),
            < 18 => rng.Next(16, 22),
            < 35 => rng.Next(22, 24),
            < 80 => 24,
            < 90 => rng.Next(25, 32),
            _ => 32,
        };
    }

    public static UInt128 Ip4Network(uint bits, int length)
        => ReferenceLpm.Mask((UInt128)bits << 96, length);

    /// <summary>
    /// IPv6 prefixes shaped like real allocations: a few dozen /32 blocks, /48 sites inside them, /64 subnets
    /// numbered from the bottom of their site, and host routes (pods) numbered from the bottom of a few /64s.
    /// Below those anchors the bits are random, so prefixes overlap at every level. Uniformly random /64s
    /// would need about 5 trie nodes each (see <see cref="Dataplane.Tables.Fib6"/>); this shape needs well under one.
    /// </summary>
    public sealed class Ip6Shape
    {
        private readonly UInt128[] _blocks;
        private readonly UInt128[] _sites;
        private readonly UInt128[] _hostSubnets;

        public Ip6Shape(Random rng, int blocks = 48, int sites = 4096, int hostSubnets = 256)
        {
            // 2000::/3 with random bits below.
            _blocks = Enumerable.Range(0, blocks).Select(_ => ReferenceLpm.Mask((UInt128)0x2000 << 112 | Random128(rng) >> 3, 32)).ToArray();
            _sites = Enumerable.Range(0, sites).Select(_ => _blocks[rng.Next(blocks)] | (Random128(rng) >> 112) << 80).ToArray();
            _hostSubnets = Enumerable.Range(0, hostSubnets).Select(_ => _sites[rng.Next(sites)] | (UInt128)(ulong)rng.Next(256) << 64).ToArray();
        }

        public (UInt128 Network, int Length) Next(Random rng)
        {
            int p = rng.Next(100);
            (UInt128 anchor, int anchorLength, int length) = p switch
            {
                < 2 => (UInt128.Zero, 0, rng.Next(1, 32)),
                < 7 => (_blocks[rng.Next(_blocks.Length)], 32, 32),
                < 20 => (_blocks[rng.Next(_blocks.Length)], 32, rng.Next(33, 48)),
                < 50 => (_blocks[rng.Next(_blocks.Length)], 32, 48),
                < 60 => (_sites[rng.Next(_sites.Length)], 48, rng.Next(49, 64)),
                < 82 => (_sites[rng.Next(_sites.Length)], 48, 64),
                < 85 => (_sites[rng.Next(_sites.Length)] | (UInt128)(ulong)rng.Next(256) << 64, 64, rng.Next(65, 112)),
                _ => (_hostSubnets[rng.Next(_hostSubnets.Length)], 64, rng.Next(100) < 70 ? 128 : rng.Next(112, 128)),
            };

            UInt128 bits = Random128(rng);
            if (anchorLength == 48 && length == 64)
            {
                bits &= (UInt128)0xFF << 64;            // subnets numbered from the bottom of their site
            }
            else if (anchorLength == 64 && length >= 112)
            {
                bits &= (UInt128)0x3FF;                 // pods numbered from the bottom of their subnet
            }

            UInt128 below = anchorLength == 0 ? bits : bits & (UInt128.MaxValue >> anchorLength);
            return (ReferenceLpm.Mask(anchor | below, length), length);
        }
    }

    public static UInt128 Random128(Random rng) => new((ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 63), (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 63));

    /// <summary>
    /// An address to check: a third uniformly random, the rest inside a random installed prefix, a sixth of
    /// those on its first or last address, where off-by-one range ends show.
    /// </summary>
    public static UInt128 NextProbe(Random rng, IReadOnlyList<(UInt128 Network, int Length)> installed, int width)
    {
        UInt128 random = Random128(rng);
        if (installed.Count == 0 || rng.Next(3) == 0)
        {
            return ReferenceLpm.Mask(random, width);
        }

        (UInt128 network, int length) = installed[rng.Next(installed.Count)];
        UInt128 hostMask = (length == 0 ? UInt128.MaxValue : UInt128.MaxValue >> length) & ~(width == 32 ? UInt128.MaxValue >> 32 : UInt128.Zero);
        UInt128 host = rng.Next(6) switch
        {
            0 => UInt128.Zero,
            1 => hostMask,
            _ => random & hostMask,
        };
        return network | host;
    }
}
