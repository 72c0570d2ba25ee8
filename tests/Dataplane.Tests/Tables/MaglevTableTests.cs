using Dataplane.Packets;
using Dataplane.Tables;
using Xunit.Abstractions;

namespace Dataplane.Tests.Tables;

[Trait("Category", "unit")]
public sealed class MaglevTableTests(ITestOutputHelper output)
{
    private const int SampleFlows = 100_000;

    private static Backend[] Backends(int n, int weight = 1)
    {
        var backends = new Backend[n];
        for (int i = 0; i < n; i++)
        {
            backends[i] = new Backend(new Ip4Address(0x0AF4_0000u + (uint)(i + 1)), 8080, weight, false, i + 1);
        }

        return backends;
    }

    private static uint[] FlowHashes(int count, int seed)
    {
        var random = new Random(seed);
        var hashes = new uint[count];
        for (int i = 0; i < count; i++)
        {
            hashes[i] = (uint)random.NextInt64(0, 1L << 32);
        }

        return hashes;
    }

    /// <summary>The backend address each flow maps to (addresses, not indices: indices shift when backends come and go).</summary>
    private static IpAddress[] Owners(MaglevTable table, Backend[] backends, uint[] flows)
    {
        var owners = new IpAddress[flows.Length];
        for (int i = 0; i < flows.Length; i++)
        {
            owners[i] = backends[table.Lookup(flows[i])].Ip;
        }

        return owners;
    }

    /// <summary>
    /// Maglev is near-minimal, not minimal: a survivor that had been beaten to an entry by the removed backend now
    /// takes it, which shifts its later choices. Measured here (5 removals each, share of entries that change owner
    /// between surviving backends): N=10 M=16381 0.6%; N=100 M=16381 1.3%; N=100 M=100003 0.43%; N=1000
    /// M=100003 0.57%. So the tight bound (1.5/N in total) holds for N=10 at the default size and for N=100 only
    /// with ~1000 entries per backend; at the default size N=100 moves ~2.3/N. Established flows never move either
    /// way (conntrack pins them); this only matters for flows that lost their conntrack entry.
    /// </summary>
    [Theory]
    [InlineData(10, MaglevTable.DefaultSize, 1.5, 0.01)]
    [InlineData(100, MaglevTable.DefaultSize, 3.0, 0.02)]
    [InlineData(100, 100_003, 1.5, 0.006)]
    public void Removing_one_backend_moves_about_its_share_of_flows(int n, int size, double maxMovedTimesN, double maxBetweenSurvivors)
    {
        Backend[] all = Backends(n);
        Backend[] fewer = [.. all.Where((_, i) => i != n / 2)];
        uint[] flows = FlowHashes(SampleFlows, 1);

        IpAddress[] before = Owners(MaglevTable.Build(all, size), all, flows);
        IpAddress[] after = Owners(MaglevTable.Build(fewer, size), fewer, flows);

        IpAddress removed = all[n / 2].Ip;
        int moved = 0;
        int betweenSurvivors = 0;
        int removedFlows = 0;
        for (int i = 0; i < flows.Length; i++)
        {
            removedFlows += before[i] == removed ? 1 : 0;
            if (before[i] != after[i])
            {
                moved++;
                betweenSurvivors += before[i] != removed ? 1 : 0;
            }
        }

        output.WriteLine($"N={n} M={size}: moved {moved} of {SampleFlows} ({100.0 * moved / SampleFlows:F2}%, 1/N = {100.0 / n:F2}%), between survivors {betweenSurvivors} ({100.0 * betweenSurvivors / SampleFlows:F3}%)");
        Assert.Equal(removedFlows, moved - betweenSurvivors); // every flow of the removed backend moved, of course
        Assert.InRange(moved, 1, (int)(SampleFlows / (double)n * maxMovedTimesN));
        Assert.True(betweenSurvivors <= SampleFlows * maxBetweenSurvivors, $"{betweenSurvivors} flows moved between surviving backends");
    }

    [Theory]
    [InlineData(10, MaglevTable.DefaultSize, 1.5, 0.01)]
    [InlineData(100, MaglevTable.DefaultSize, 3.0, 0.02)]
    [InlineData(100, 100_003, 1.5, 0.006)]
    public void Adding_one_backend_moves_about_its_new_share(int n, int size, double maxMovedTimesN, double maxBetweenOld)
    {
        Backend[] all = Backends(n + 1);
        Backend[] fewer = all[..n];
        uint[] flows = FlowHashes(SampleFlows, 2);

        IpAddress[] before = Owners(MaglevTable.Build(fewer, size), fewer, flows);
        IpAddress[] after = Owners(MaglevTable.Build(all, size), all, flows);

        int moved = 0;
        int betweenOld = 0;
        for (int i = 0; i < flows.Length; i++)
        {
            if (before[i] != after[i])
            {
                moved++;
                betweenOld += after[i] != all[n].Ip ? 1 : 0;
            }
        }

        output.WriteLine($"N={n}+1 M={size}: moved {moved} ({100.0 * moved / SampleFlows:F2}%, 1/(N+1) = {100.0 / (n + 1):F2}%), between old backends {betweenOld} ({100.0 * betweenOld / SampleFlows:F3}%)");
        Assert.InRange(moved, 1, (int)(SampleFlows / (double)(n + 1) * maxMovedTimesN));
        Assert.True(betweenOld <= SampleFlows * maxBetweenOld, $"{betweenOld} flows moved between backends that were already there");
    }

    [Fact]
    public void Weights_1_2_1_take_25_50_25_percent_of_flows()
    {
        Backend[] backends = Backends(3);
        backends[1] = backends[1] with { Weight = 2 };
        MaglevTable table = MaglevTable.Build(backends);

        var counts = new int[3];
        foreach (uint flow in FlowHashes(10_000, 3))
        {
            counts[table.Lookup(flow)]++;
        }

        double[] expected = [0.25, 0.50, 0.25];
        for (int i = 0; i < 3; i++)
        {
            double share = counts[i] / 10_000.0;
            output.WriteLine($"backend {i} weight {backends[i].Weight}: {share:P2} of flows");
            Assert.InRange(share, expected[i] * 0.9, expected[i] * 1.1);
        }

        var entries = new int[3];
        foreach (ushort e in table.Entries)
        {
            entries[e]++;
        }

        Assert.InRange(entries[1] / (double)table.Size, 0.499, 0.501); // the table itself is exact to one entry per round
    }

    [Fact]
    public void Equal_weights_share_the_table_within_one_percent()
    {
        Backend[] backends = Backends(100);
        MaglevTable table = MaglevTable.Build(backends, MaglevTable.SizeFor(100));
        var entries = new int[100];
        foreach (ushort e in table.Entries)
        {
            entries[e]++;
        }

        double ideal = table.Size / 100.0;
        Assert.All(entries, count => Assert.InRange(count, ideal * 0.99 - 1, ideal * 1.01 + 1));
    }

    [Fact]
    public void Same_backends_in_any_order_give_the_same_table()
    {
        Backend[] backends = Backends(50);
        Backend[] shuffled = [.. backends.OrderBy(b => StableOrder(b.Ip))];
        MaglevTable a = MaglevTable.Build(backends);
        MaglevTable b = MaglevTable.Build(backends);
        MaglevTable c = MaglevTable.Build(shuffled);

        Assert.True(a.Entries.SequenceEqual(b.Entries));
        for (int i = 0; i < a.Size; i++)
        {
            Assert.Equal(backends[a.Entries[i]].Ip, shuffled[c.Entries[i]].Ip);
        }

        static ulong StableOrder(IpAddress ip) => (ip.Bits.Lo * 0x9E37_79B9_7F4A_7C15UL) >> 7;
    }

    [Fact]
    public void Terminating_and_zero_weight_backends_own_no_entries()
    {
        Backend[] backends = Backends(4);
        backends[1] = backends[1] with { Terminating = true };
        backends[2] = backends[2] with { Weight = 0 };
        MaglevTable table = MaglevTable.Build(backends);

        Assert.Equal(2, table.BackendCount);
        Assert.DoesNotContain((ushort)1, table.Entries.ToArray());
        Assert.DoesNotContain((ushort)2, table.Entries.ToArray());
    }

    [Fact]
    public void Size_is_the_smallest_prime_of_at_least_100_entries_per_backend()
    {
        Assert.Equal(16381, MaglevTable.SizeFor(10));
        Assert.Equal(16381, MaglevTable.SizeFor(163));
        Assert.Equal(16411, MaglevTable.SizeFor(164));
        Assert.Equal(100_003, MaglevTable.SizeFor(1000));
        Assert.Equal(251, MaglevTable.SizeFor(2, minimumSize: 250));
        Assert.Equal(100_003, MaglevTable.Build(Backends(1000), MaglevTable.SizeFor(1000)).Size);
        Assert.Throws<ArgumentException>(() => MaglevTable.Build(Backends(2), 16384));
    }

    [Theory]
    [InlineData(2, true)]
    [InlineData(16381, true)]
    [InlineData(16383, false)]
    [InlineData(100_003, true)]
    [InlineData(1, false)]
    [InlineData(25, false)]
    public void Primality(int n, bool prime) => Assert.Equal(prime, Primes.IsPrime(n));
}
