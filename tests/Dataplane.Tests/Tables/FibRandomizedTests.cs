using Dataplane.Packets;
using Dataplane.Tables;
using Xunit.Abstractions;

namespace Dataplane.Tests.Tables;

/// <summary>
/// The tries against <see cref="ReferenceLpm"/> on large random tables, after inserts, after deleting half,
/// and after re-inserting into reclaimed groups/nodes; plus small dense regions checked exhaustively
/// while prefixes come and go, which is where covering/covered bookkeeping breaks.
/// </summary>
[Trait("Category", "slow")]
public sealed class FibRandomizedTests(ITestOutputHelper output)
{
    private const int Prefixes = 100_000;
    private const int Lookups = 1_000_000;

    [Fact]
    public void Random_ipv4_table_matches_the_reference_through_inserts_and_deletes()
    {
        var rng = new Random(20240404);
        var fib = new Fib4(Fib4.MaxGroupCapacity);
        var reference = new ReferenceLpm(32);
        var installed = new List<(UInt128 Network, int Length)>();
        var seen = new HashSet<(UInt128, int)>();

        for (int i = 0; i < Prefixes; i++)
        {
            int length = RouteGenerator.NextIp4Length(rng);
            UInt128 network = RouteGenerator.Ip4Network((uint)rng.NextInt64(), length);
            Insert4(fib, reference, installed, seen, network, length, rng.Next(Fib4.MaxNextHop + 1));
        }

        output.WriteLine($"IPv4: {fib.Count} prefixes, {fib.GroupsInUse} groups, {fib.MemoryBytes >> 20} MiB");
        CheckReferenceAgainstScan(reference, installed, 32, rng);
        Compare4(fib, reference, installed, rng);

        DeleteHalf(installed, rng, (n, l) => Assert.True(fib.Delete(new Ip4Address((uint)(n >> 96)), l)), reference, seen);
        Assert.Equal(reference.Count, fib.Count);
        output.WriteLine($"IPv4 after deleting half: {fib.Count} prefixes, {fib.GroupsInUse} groups, {fib.GroupsRetired} retired");
        Compare4(fib, reference, installed, rng);

        // New prefixes land in reclaimed groups: anything stale in them would show.
        fib.ReclaimRetired();
        for (int i = 0; i < Prefixes / 5; i++)
        {
            int length = RouteGenerator.NextIp4Length(rng);
            UInt128 network = RouteGenerator.Ip4Network((uint)rng.NextInt64(), length);
            Insert4(fib, reference, installed, seen, network, length, rng.Next(Fib4.MaxNextHop + 1));
        }

        Compare4(fib, reference, installed, rng);
        AssertSameRules(reference, fib.Routes, 32);
    }

    [Fact]
    public void Random_ipv6_table_matches_the_reference_through_inserts_and_deletes()
    {
        var rng = new Random(20240606);
        var shape = new RouteGenerator.Ip6Shape(rng);
        var fib = new Fib6(nodeCapacity: 64 * 1024);
        var reference = new ReferenceLpm(128);
        var installed = new List<(UInt128 Network, int Length)>();
        var seen = new HashSet<(UInt128, int)>();

        for (int i = 0; i < Prefixes; i++)
        {
            (UInt128 network, int length) = shape.Next(rng);
            Insert6(fib, reference, installed, seen, network, length, rng.Next());
        }

        output.WriteLine($"IPv6: {fib.Count} prefixes, {fib.NodesInUse} nodes, {fib.MemoryBytes >> 20} MiB reserved, {(fib.NodesInUse * 1280L) >> 20} MiB of nodes used");
        CheckReferenceAgainstScan(reference, installed, 128, rng);
        Compare6(fib, reference, installed, rng);

        DeleteHalf(installed, rng, (n, l) => Assert.True(fib.Delete(new Ip6Address((ulong)(n >> 64), (ulong)n), l)), reference, seen);
        Assert.Equal(reference.Count, fib.Count);
        output.WriteLine($"IPv6 after deleting half: {fib.Count} prefixes, {fib.NodesInUse} nodes, {fib.NodesRetired} retired");
        Compare6(fib, reference, installed, rng);

        fib.ReclaimRetired();
        for (int i = 0; i < Prefixes / 5; i++)
        {
            (UInt128 network, int length) = shape.Next(rng);
            Insert6(fib, reference, installed, seen, network, length, rng.Next());
        }

        Compare6(fib, reference, installed, rng);
        AssertSameRules(reference, fib.Routes, 128);
    }

    [Fact]
    public void Uniformly_random_ipv6_prefixes_of_every_length_match_the_reference()
    {
        // The trie's worst case for memory (no shared upper bits), kept small: ~6 nodes per prefix.
        var rng = new Random(128);
        var fib = new Fib6(nodeCapacity: 48 * 1024);
        var reference = new ReferenceLpm(128);
        var installed = new List<(UInt128 Network, int Length)>();
        var seen = new HashSet<(UInt128, int)>();
        for (int i = 0; i < 5_000; i++)
        {
            int length = rng.Next(129);
            Insert6(fib, reference, installed, seen, ReferenceLpm.Mask(RouteGenerator.Random128(rng), length), length, rng.Next());
        }

        output.WriteLine($"IPv6 uniform: {fib.Count} prefixes, {fib.NodesInUse} nodes");
        Compare6(fib, reference, installed, rng, Lookups / 4);
        DeleteHalf(installed, rng, (n, l) => Assert.True(fib.Delete(new Ip6Address((ulong)(n >> 64), (ulong)n), l)), reference, seen);
        Compare6(fib, reference, installed, rng, Lookups / 4);
    }

    [Fact]
    public void Dense_overlapping_ipv4_updates_match_the_reference_on_every_address()
    {
        // Every prefix sits in or over 10.1.0.0/16, lengths /8-/32, so each address has many candidates
        // and both tbl24 and tbl8 ranges overlap; the whole /16 is compared after every 250 operations.
        var rng = new Random(416);
        var fib = new Fib4(groupCapacity: 256);
        var reference = new ReferenceLpm(32);
        var installed = new List<(UInt128 Network, int Length)>();
        var seen = new HashSet<(UInt128, int)>();
        const uint region = 0x0A01_0000;

        for (int op = 1; op <= 3000; op++)
        {
            if (installed.Count > 0 && rng.Next(10) < 4)
            {
                int victim = rng.Next(installed.Count);
                (UInt128 n, int l) = installed[victim];
                installed[victim] = installed[^1];
                installed.RemoveAt(installed.Count - 1);
                seen.Remove((n, l));
                Assert.True(reference.Remove(n, l));
                Assert.True(fib.Delete(new Ip4Address((uint)(n >> 96)), l));
            }
            else
            {
                int length = rng.Next(100) < 10 ? rng.Next(8, 16) : rng.Next(16, 33);
                UInt128 network = RouteGenerator.Ip4Network(region | (uint)rng.Next(65536), length);
                Insert4(fib, reference, installed, seen, network, length, rng.Next(1000));
            }

            if (rng.Next(50) == 0)
            {
                fib.ReclaimRetired();
            }

            if (op % 250 == 0)
            {
                for (uint a = region - 256; a < region + 65536 + 256; a++)
                {
                    int expected = reference.Lookup((UInt128)a << 96);
                    int actual = fib.Lookup(new Ip4Address(a));
                    Assert.True(expected == actual, $"after op {op}: {new Ip4Address(a)} -> {actual}, reference {expected}");
                }
            }
        }

        Assert.Equal(reference.Count, fib.Count);
    }

    [Fact]
    public void Dense_overlapping_ipv6_updates_match_the_reference_on_every_address()
    {
        // Prefixes /96-/128 in or over one /112 (crossing the trie levels at 104, 112 and 120 bits), some
        // shorter ones over it, and the whole /112 compared after every 250 operations.
        var rng = new Random(616);
        var fib = new Fib6(nodeCapacity: 4096);
        var reference = new ReferenceLpm(128);
        var installed = new List<(UInt128 Network, int Length)>();
        var seen = new HashSet<(UInt128, int)>();
        UInt128 region = Ip6Address.Parse("fd00:10:244:1:0:0:7:0").ToUInt128();

        for (int op = 1; op <= 3000; op++)
        {
            if (installed.Count > 0 && rng.Next(10) < 4)
            {
                int victim = rng.Next(installed.Count);
                (UInt128 n, int l) = installed[victim];
                installed[victim] = installed[^1];
                installed.RemoveAt(installed.Count - 1);
                seen.Remove((n, l));
                Assert.True(reference.Remove(n, l));
                Assert.True(fib.Delete(new Ip6Address((ulong)(n >> 64), (ulong)n), l));
            }
            else
            {
                int length = rng.Next(100) < 5 ? new[] { 0, 16, 48, 64, 80 }[rng.Next(5)] : rng.Next(96, 129);
                Insert6(fib, reference, installed, seen, ReferenceLpm.Mask(region | (uint)rng.Next(65536), length), length, rng.Next(1000));
            }

            if (rng.Next(50) == 0)
            {
                fib.ReclaimRetired();
            }

            if (op % 250 == 0)
            {
                for (int i = -256; i < 65536 + 256; i++)
                {
                    UInt128 a = i < 0 ? region - (UInt128)(-i) : region + (UInt128)i;
                    int expected = reference.Lookup(a);
                    int actual = fib.Lookup(new Ip6Address((ulong)(a >> 64), (ulong)a));
                    Assert.True(expected == actual, $"after op {op}: {new Ip6Address((ulong)(a >> 64), (ulong)a)} -> {actual}, reference {expected}");
                }
            }
        }

        Assert.Equal(reference.Count, fib.Count);
    }

    private static void Insert4(Fib4 fib, ReferenceLpm reference, List<(UInt128, int)> installed, HashSet<(UInt128, int)> seen, UInt128 network, int length, int nextHop)
    {
        FibResult result = fib.Insert(new Ip4Address((uint)(network >> 96)), length, nextHop);
        Assert.Equal(seen.Add((network, length)) ? FibResult.Added : FibResult.Replaced, result);
        if (result == FibResult.Added)
        {
            installed.Add((network, length));
        }

        reference.Set(network, length, nextHop);
    }

    private static void Insert6(Fib6 fib, ReferenceLpm reference, List<(UInt128, int)> installed, HashSet<(UInt128, int)> seen, UInt128 network, int length, int nextHop)
    {
        FibResult result = fib.Insert(new Ip6Address((ulong)(network >> 64), (ulong)network), length, nextHop);
        Assert.Equal(seen.Add((network, length)) ? FibResult.Added : FibResult.Replaced, result);
        if (result == FibResult.Added)
        {
            installed.Add((network, length));
        }

        reference.Set(network, length, nextHop);
    }

    private static void DeleteHalf(List<(UInt128 Network, int Length)> installed, Random rng, Action<UInt128, int> delete, ReferenceLpm reference, HashSet<(UInt128, int)> seen)
    {
        // Fisher-Yates, then drop the second half.
        for (int i = installed.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (installed[i], installed[j]) = (installed[j], installed[i]);
        }

        int keep = installed.Count / 2;
        for (int i = keep; i < installed.Count; i++)
        {
            (UInt128 network, int length) = installed[i];
            delete(network, length);
            Assert.True(reference.Remove(network, length));
            seen.Remove((network, length));
        }

        installed.RemoveRange(keep, installed.Count - keep);
    }

    // Odd, so the batch lookups' 8-lane loop also runs its one-at-a-time tail.
    private const int Chunk = 1021;

    /// <summary>Single and batch lookups of random probes against the reference.</summary>
    private static void Compare4(Fib4 fib, ReferenceLpm reference, List<(UInt128, int)> installed, Random rng)
    {
        var addresses = new Ip4Address[Chunk];
        var batch = new int[Chunk];
        for (int done = 0; done < Lookups; done += Chunk)
        {
            for (int i = 0; i < Chunk; i++)
            {
                addresses[i] = new Ip4Address((uint)(RouteGenerator.NextProbe(rng, installed, 32) >> 96));
            }

            fib.Lookup(addresses, batch);
            for (int i = 0; i < Chunk; i++)
            {
                int expected = reference.Lookup((UInt128)addresses[i].Value << 96);
                int actual = fib.Lookup(addresses[i]);
                if (expected != actual || expected != batch[i])
                {
                    Assert.Fail($"{addresses[i]} -> {actual} (batch {batch[i]}), reference {expected}");
                }
            }
        }
    }

    private static void Compare6(Fib6 fib, ReferenceLpm reference, List<(UInt128, int)> installed, Random rng, int lookups = Lookups)
    {
        var addresses = new Ip6Address[Chunk];
        var batch = new int[Chunk];
        for (int done = 0; done < lookups; done += Chunk)
        {
            for (int i = 0; i < Chunk; i++)
            {
                UInt128 probe = RouteGenerator.NextProbe(rng, installed, 128);
                addresses[i] = new Ip6Address((ulong)(probe >> 64), (ulong)probe);
            }

            fib.Lookup(addresses, batch);
            for (int i = 0; i < Chunk; i++)
            {
                int expected = reference.Lookup(addresses[i].ToUInt128());
                int actual = fib.Lookup(addresses[i]);
                if (expected != actual || expected != batch[i])
                {
                    Assert.Fail($"{addresses[i]} -> {actual} (batch {batch[i]}), reference {expected}");
                }
            }
        }
    }

    /// <summary>The oracle itself, against a plain scan of every rule, on a sample.</summary>
    private static void CheckReferenceAgainstScan(ReferenceLpm reference, List<(UInt128, int)> installed, int width, Random rng)
    {
        var rules = reference.Snapshot();
        for (int i = 0; i < 300; i++)
        {
            UInt128 probe = RouteGenerator.NextProbe(rng, installed, width);
            Assert.Equal(reference.LookupByScan(rules, probe), reference.Lookup(probe));
        }
    }

    private static void AssertSameRules(ReferenceLpm reference, IEnumerable<FibRoute> routes, int width)
    {
        var expected = reference.All().Select(r => (r.Network, r.Length, r.NextHop)).OrderBy(r => r).ToList();
        var actual = routes.Select(r => (Network: width == 32 ? (UInt128)r.Prefix.Address.V4.Value << 96 : r.Prefix.Address.V6.ToUInt128(), r.Prefix.Length, r.NextHop)).OrderBy(r => r).ToList();
        Assert.Equal(expected, actual);
    }
}
