using BenchmarkDotNet.Attributes;
using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane.Benchmarks;

/// <summary>
/// Longest-prefix-match lookups per core, IPv4 (DIR-24-8) and IPv6 (16-8-8-... trie), with 10, 10k and 100k
/// prefixes. Each invocation looks up a batch of 1024 addresses, so the reported time is per lookup
/// (Mlookups/s = 1000 / ns). Addresses fall inside a random installed prefix (random host bits).
/// <c>Addresses = 1024</c> repeats one batch, so its table lines stay in cache (a node serving a few hot
/// destinations); <c>Addresses = 1048576</c> walks a 1M-address pool, a fresh batch per invocation, so with
/// large tables most lookups miss the caches (the worst case for a table of this size). <c>Ipv6</c> calls the
/// single-address lookup in a loop, <c>Ipv6Batch</c> the 8-lane batch lookup the packet path should use.
/// Setup prints each table's memory ("// Fib4 ..." lines in the log).
/// </summary>
[MemoryDiagnoser]
public class FibBenchmarks
{
    private const int Batch = 1024;

    private Fib4 _fib4 = null!;
    private Fib6 _fib6 = null!;
    private Ip4Address[] _addresses4 = [];
    private Ip6Address[] _addresses6 = [];
    private readonly int[] _nextHops = new int[Batch];
    private int _cursor;

    [Params(10, 10_000, 100_000)]
    public int Prefixes { get; set; }

    [Params(Batch, 1 << 20)]
    public int Addresses { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(Prefixes);
        _fib4 = new Fib4(Fib4.MaxGroupCapacity);
        var prefixes4 = new List<(uint Network, int Length)>();
        while (_fib4.Count < Prefixes)
        {
            int length = NextIp4Length(rng);
            uint network = length == 0 ? 0 : (uint)rng.NextInt64() & (uint.MaxValue << (32 - length));
            if (_fib4.Insert(new Ip4Address(network), length, rng.Next(Fib4.MaxNextHop + 1)) == FibResult.Added)
            {
                prefixes4.Add((network, length));
            }
        }

        _fib6 = new Fib6(nodeCapacity: 64 * 1024);
        var shape = new Ip6Shape(rng);
        var prefixes6 = new List<(UInt128 Network, int Length)>();
        while (_fib6.Count < Prefixes)
        {
            (UInt128 network, int length) = shape.Next(rng);
            if (_fib6.Insert(new Ip6Address((ulong)(network >> 64), (ulong)network), length, rng.Next()) == FibResult.Added)
            {
                prefixes6.Add((network, length));
            }
        }

        _addresses4 = new Ip4Address[Addresses];
        for (int i = 0; i < _addresses4.Length; i++)
        {
            (uint network, int length) = prefixes4[rng.Next(prefixes4.Count)];
            uint host = length == 32 ? 0 : (uint)rng.NextInt64() & (uint.MaxValue >> length);
            _addresses4[i] = new Ip4Address(network | host);
        }

        _addresses6 = new Ip6Address[Addresses];
        for (int i = 0; i < _addresses6.Length; i++)
        {
            (UInt128 network, int length) = prefixes6[rng.Next(prefixes6.Count)];
            UInt128 host = length == 128 ? UInt128.Zero : Random128(rng) & (UInt128.MaxValue >> length);
            UInt128 address = network | host;
            _addresses6[i] = new Ip6Address((ulong)(address >> 64), (ulong)address);
        }

        Console.WriteLine(
            $"// Fib4 {Prefixes} prefixes: {_fib4.GroupsInUse} groups in use, {(_fib4.MemoryBytes / 1048576.0):F1} MiB reserved, "
            + $"{((3L << 24) + _fib4.GroupsInUse * 768L) / 1048576.0:F1} MiB used");
        Console.WriteLine(
            $"// Fib6 {Prefixes} prefixes: {_fib6.NodesInUse} nodes in use, {(_fib6.MemoryBytes / 1048576.0):F1} MiB reserved, "
            + $"{((5L << 16) + _fib6.NodesInUse * 1280L) / 1048576.0:F1} MiB used");
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Ipv4()
    {
        Fib4 fib = _fib4;
        ReadOnlySpan<Ip4Address> batch = _addresses4.AsSpan(NextBatch(), Batch);
        int sum = 0;
        foreach (Ip4Address address in batch)
        {
            sum += fib.Lookup(address);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Ipv6()
    {
        Fib6 fib = _fib6;
        ReadOnlySpan<Ip6Address> batch = _addresses6.AsSpan(NextBatch(), Batch);
        int sum = 0;
        foreach (Ip6Address address in batch)
        {
            sum += fib.Lookup(address);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Ipv6Batch()
    {
        _fib6.Lookup(_addresses6.AsSpan(NextBatch(), Batch), _nextHops);
        return _nextHops[Batch - 1];
    }

    private int NextBatch()
    {
        int start = _cursor;
        _cursor = start + Batch == Addresses ? 0 : start + Batch;
        return start;
    }

    /// <summary>Same length mix as the tests: mostly /24, 20% /25-/32.</summary>
    private static int NextIp4Length(Random rng) => rng.Next(100) switch
    {
        < 3 => rng.Next(8, 16),
        < 18 => rng.Next(16, 22),
        < 35 => rng.Next(22, 24),
        < 80 => 24,
        < 90 => rng.Next(25, 32),
        _ => 32,
    };

    private static UInt128 Random128(Random rng)
        => new((ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 63), (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 63));

    private static UInt128 Mask(UInt128 address, int length)
        => length == 0 ? UInt128.Zero : address & (UInt128.MaxValue << (128 - length));

    /// <summary>
    /// The tests' allocation-shaped IPv6 generator (tests/Dataplane.Tests/Tables/RouteGenerator.cs): /32 blocks, /48 sites, /64
    /// subnets numbered from the bottom of their site, pod /128s from the bottom of a few /64s.
    /// </summary>
    private sealed class Ip6Shape
    {
        private readonly UInt128[] _blocks;
        private readonly UInt128[] _sites;
        private readonly UInt128[] _hostSubnets;

        public Ip6Shape(Random rng)
        {
            _blocks = new UInt128[48];
            for (int i = 0; i < _blocks.Length; i++)
            {
                _blocks[i] = Mask(((UInt128)0x2000 << 112) | (Random128(rng) >> 3), 32);
            }

            _sites = new UInt128[4096];
            for (int i = 0; i < _sites.Length; i++)
            {
                _sites[i] = _blocks[rng.Next(_blocks.Length)] | ((Random128(rng) >> 112) << 80);
            }

            _hostSubnets = new UInt128[256];
            for (int i = 0; i < _hostSubnets.Length; i++)
            {
                _hostSubnets[i] = _sites[rng.Next(_sites.Length)] | ((UInt128)(ulong)rng.Next(256) << 64);
            }
        }

        public (UInt128 Network, int Length) Next(Random rng)
        {
            (UInt128 anchor, int anchorLength, int length) = rng.Next(100) switch
            {
                < 2 => (UInt128.Zero, 0, rng.Next(1, 32)),
                < 7 => (_blocks[rng.Next(_blocks.Length)], 32, 32),
                < 20 => (_blocks[rng.Next(_blocks.Length)], 32, rng.Next(33, 48)),
                < 50 => (_blocks[rng.Next(_blocks.Length)], 32, 48),
                < 60 => (_sites[rng.Next(_sites.Length)], 48, rng.Next(49, 64)),
                < 82 => (_sites[rng.Next(_sites.Length)], 48, 64),
                < 85 => (_sites[rng.Next(_sites.Length)] | ((UInt128)(ulong)rng.Next(256) << 64), 64, rng.Next(65, 112)),
                _ => (_hostSubnets[rng.Next(_hostSubnets.Length)], 64, rng.Next(100) < 70 ? 128 : rng.Next(112, 128)),
            };

            UInt128 bits = Random128(rng);
            if (anchorLength == 48 && length == 64)
            {
                bits &= (UInt128)0xFF << 64;
            }
            else if (anchorLength == 64 && length >= 112)
            {
                bits &= (UInt128)0x3FF;
            }

            UInt128 below = anchorLength == 0 ? bits : bits & (UInt128.MaxValue >> anchorLength);
            return (Mask(anchor | below, length), length);
        }
    }
}
