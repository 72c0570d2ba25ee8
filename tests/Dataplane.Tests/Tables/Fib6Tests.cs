using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane.Tests.Tables;

[Trait("Category", "unit")]
public sealed class Fib6Tests
{
    private static readonly Lazy<Fib6> s_golden = new(() =>
    {
        var fib = new Fib6(nodeCapacity: 256);
        fib.Add("::/0", 1);
        fib.Add("2001::/16", 7);
        fib.Add("2001::/20", 8);
        fib.Add("2001:db8::/32", 2);
        fib.Add("2001:db8:1::/48", 3);
        fib.Add("2001:db8:1:2::/64", 4);
        fib.Add("2001:db8:1:2:8000::/65", 5);
        fib.Add("2001:db8:1:2::1/128", 6);
        fib.Add("2001:db8:1:2::2/127", 11);
        fib.Add("2001:db8:1:2::100/120", 9);
        fib.Add("2001:db8:1:2::1ff/128", 10);
        fib.Add("fd00:10:244::/48", 13);
        fib.Add("fd00:10:244:1::/64", 12);
        fib.Add("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 14);
        return fib;
    });

    [Theory]
    [InlineData("outside every specific prefix takes the default route", "2002::1", 1)]
    [InlineData("the unspecified address takes the default route", "::", 1)]
    [InlineData("/16 root entry, outside its /20", "2001:1000::1", 7)]
    [InlineData("/20 inside the /16 (not on a stride boundary)", "2001:100::1", 8)]
    [InlineData("/32", "2001:db8::1", 2)]
    [InlineData("last address of the /32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 2)]
    [InlineData("/48", "2001:db8:1::1", 3)]
    [InlineData("/48, next /64", "2001:db8:1:3::1", 3)]
    [InlineData("/64", "2001:db8:1:2::5", 4)]
    [InlineData("first address of the /64", "2001:db8:1:2::", 4)]
    [InlineData("/128 host route", "2001:db8:1:2::1", 6)]
    [InlineData("/127 low address", "2001:db8:1:2::2", 11)]
    [InlineData("/127 high address", "2001:db8:1:2::3", 11)]
    [InlineData("just past the /127", "2001:db8:1:2::4", 4)]
    [InlineData("/120", "2001:db8:1:2::100", 9)]
    [InlineData("/120 below its /128", "2001:db8:1:2::1fe", 9)]
    [InlineData("/128 at the top of the /120", "2001:db8:1:2::1ff", 10)]
    [InlineData("just past the /120", "2001:db8:1:2::200", 4)]
    [InlineData("/65 upper half", "2001:db8:1:2:8000::1", 5)]
    [InlineData("last address below the /65", "2001:db8:1:2:7fff:ffff:ffff:ffff", 4)]
    [InlineData("last address of the /65", "2001:db8:1:2:ffff:ffff:ffff:ffff", 5)]
    [InlineData("pod /64", "fd00:10:244:1::abcd", 12)]
    [InlineData("cluster /48 outside the pod /64", "fd00:10:244:2::1", 13)]
    [InlineData("outside the cluster /48", "fd00:10:245::1", 1)]
    [InlineData("highest address, its own /128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 14)]
    [InlineData("one below the highest address", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 1)]
    public void Golden_lookup_picks_the_longest_match(string description, string address, int expected)
    {
        Assert.True(s_golden.Value.Lookup(address) == expected, $"{description}: {address} -> {s_golden.Value.Lookup(address)}, expected {expected}");
    }

    [Fact]
    public void Empty_table_has_no_route()
    {
        var fib = new Fib6(0);
        Assert.Equal(Fib.NoRoute, fib.Lookup("2001:db8::1"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("::"));
    }

    [Fact]
    public void Default_route_alone_matches_every_address_and_its_delete_empties_the_table()
    {
        var fib = new Fib6(0);
        Assert.Equal(FibResult.Added, fib.Add("::/0", 9));
        foreach (string a in new[] { "::", "::1", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" })
        {
            Assert.Equal(9, fib.Lookup(a));
        }

        Assert.True(fib.Remove("::/0"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("2001:db8::1"));
    }

    [Fact]
    public void Deleting_a_prefix_restores_the_next_less_specific_one_and_frees_its_nodes()
    {
        var fib = new Fib6(64);
        fib.Add("::/0", 1);
        fib.Add("2001:db8:1::/48", 3);
        fib.Add("2001:db8:1:2::/64", 4);
        fib.Add("2001:db8:1:2::1/128", 6);
        Assert.Equal(14, fib.NodesInUse);

        Assert.True(fib.Remove("2001:db8:1:2::1/128"));
        Assert.Equal(4, fib.Lookup("2001:db8:1:2::1"));
        Assert.Equal(6, fib.NodesInUse);
        Assert.Equal(8, fib.NodesRetired);

        Assert.True(fib.Remove("2001:db8:1:2::/64"));
        Assert.Equal(3, fib.Lookup("2001:db8:1:2::1"));
        Assert.Equal(4, fib.NodesInUse);

        Assert.True(fib.Remove("2001:db8:1::/48"));
        Assert.Equal(1, fib.Lookup("2001:db8:1:2::1"));
        Assert.Equal(0, fib.NodesInUse);

        Assert.True(fib.Remove("::/0"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("2001:db8:1:2::1"));
        Assert.Equal(0, fib.Count);
        Assert.Equal(14, fib.NodesRetired);
    }

    [Fact]
    public void Deleting_a_covering_prefix_keeps_the_more_specific_ones()
    {
        var fib = new Fib6(64);
        fib.Add("2001:db8::/32", 2);
        fib.Add("2001:db8:1::/48", 3);
        fib.Add("2001:db8:1:2::/64", 4);

        Assert.True(fib.Remove("2001:db8:1::/48"));
        Assert.Equal(2, fib.Lookup("2001:db8:1:3::1"));
        Assert.Equal(4, fib.Lookup("2001:db8:1:2::1"));

        Assert.True(fib.Remove("2001:db8::/32"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("2001:db8:1:3::1"));
        Assert.Equal(4, fib.Lookup("2001:db8:1:2::1"));
    }

    [Fact]
    public void Insert_order_does_not_matter()
    {
        var fib = new Fib6(64);
        fib.Add("2001:db8:1:2::1/128", 6);
        fib.Add("2001:db8:1:2::/64", 4);
        fib.Add("2001:db8:1::/48", 3);
        fib.Add("::/0", 1);

        Assert.Equal(6, fib.Lookup("2001:db8:1:2::1"));
        Assert.Equal(4, fib.Lookup("2001:db8:1:2::2"));
        Assert.Equal(3, fib.Lookup("2001:db8:1:3::"));
        Assert.Equal(1, fib.Lookup("2001:db8:2::"));
    }

    [Fact]
    public void Inserting_an_existing_prefix_replaces_its_next_hop()
    {
        var fib = new Fib6(64);
        fib.Add("2001:db8:1::/48", 3);
        fib.Add("2001:db8:1:2::/64", 4);
        Assert.Equal(FibResult.Replaced, fib.Add("2001:db8:1::/48", 30));
        Assert.Equal(2, fib.Count);
        Assert.Equal(30, fib.Lookup("2001:db8:1:3::1"));
        Assert.Equal(4, fib.Lookup("2001:db8:1:2::1"));
    }

    [Fact]
    public void Exhausted_nodes_make_insert_return_Full_and_change_nothing()
    {
        var fib = new Fib6(nodeCapacity: 5);
        fib.Add("::/0", 1);

        // A /64 below an empty root entry needs 6 nodes (bits 16-23, 24-31, ... 56-63).
        Assert.Equal(FibResult.Full, fib.Add("2001:db8:1:2::/64", 4));
        Assert.Equal(1, fib.Count);
        Assert.Equal(0, fib.NodesInUse);
        Assert.Equal(1, fib.Lookup("2001:db8:1:2::1"));

        Assert.Equal(FibResult.Added, fib.Add("2001:db8:1::/48", 3));
        Assert.Equal(4, fib.NodesInUse);
        Assert.Equal(FibResult.Added, fib.Add("2001:db8:1:200::/56", 5));
        Assert.Equal(FibResult.Full, fib.Add("2001:db8:1:200::/64", 6));
        Assert.Equal(FibResult.Added, fib.Add("2001:db8:1:300::/56", 7));
        Assert.Equal(5, fib.Lookup("2001:db8:1:200::1"));
        Assert.Equal(7, fib.Lookup("2001:db8:1:300::1"));
    }

    [Theory]
    [InlineData("2001:db8::1", 64, 1, FibResult.InvalidPrefix)]
    [InlineData("2001:db8::", 129, 1, FibResult.InvalidPrefix)]
    [InlineData("8000::", 0, 1, FibResult.InvalidPrefix)]
    [InlineData("2001:db8::", 32, -1, FibResult.InvalidNextHop)]
    [InlineData("2001:db8::", 32, Fib6.MaxNextHop, FibResult.Added)]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, 0, FibResult.Added)]
    public void Insert_validates_prefix_and_next_hop(string network, int length, int nextHop, FibResult expected)
    {
        var fib = new Fib6(16);
        Assert.Equal(expected, fib.Insert(Ip6Address.Parse(network), length, nextHop));
        if (expected == FibResult.Added)
        {
            Assert.Equal(nextHop, fib.Lookup(Ip6Address.Parse(network)));
        }
        else
        {
            Assert.Equal(0, fib.Count);
            Assert.Equal(0, fib.NodesInUse);
        }
    }

    [Fact]
    public void Clear_removes_every_rule_and_retires_every_node()
    {
        var fib = new Fib6(64);
        fib.Add("::/0", 1);
        fib.Add("2001:db8:1:2::/64", 4);
        fib.Add("fd00::1/128", 5);
        int nodes = fib.NodesInUse;
        fib.Clear();

        Assert.Equal(0, fib.Count);
        Assert.Empty(fib.Routes);
        Assert.Equal(Fib.NoRoute, fib.Lookup("2001:db8:1:2::1"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("fd00::1"));
        Assert.Equal(0, fib.NodesInUse);
        Assert.Equal(nodes, fib.NodesRetired);

        fib.ReclaimRetired();
        fib.Add("2001:db8:1:2::/64", 4);
        Assert.Equal(4, fib.Lookup("2001:db8:1:2::1"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("2001:db8:1:3::1"));
    }

    [Fact]
    public void Routes_lists_every_rule_once()
    {
        var fib = new Fib6(64);
        fib.Add("::/0", 1);
        fib.Add("2001:db8:1:2::/64", 4);
        fib.Add("2001:db8:1:2::/64", 5);
        Assert.Equal(
            new[] { new FibRoute(IpPrefix.Parse("::/0"), 1), new FibRoute(IpPrefix.Parse("2001:db8:1:2::/64"), 5) },
            fib.Routes.ToArray());
    }

    [Fact]
    public void Batch_lookup_matches_single_lookups()
    {
        Fib6 fib = s_golden.Value;
        var rng = new Random(66);
        var addresses = new Ip6Address[203];
        for (int i = 0; i < addresses.Length; i++)
        {
            // Depths from the root entry alone to the /128s, mixed within each group of eight.
            ulong hi = (i % 4) switch { 0 => 0x2001_0db8_0001_0002, 1 => 0x2002_0000_0000_0000, 2 => 0xFD00_0010_0244_0001, _ => ulong.MaxValue };
            addresses[i] = new Ip6Address(hi | ((ulong)(uint)rng.Next(2) << 15), (ulong)(uint)rng.Next(0x300) | (i % 7 == 0 ? ulong.MaxValue : 0));
        }

        addresses[5] = Ip6Address.Parse("2001:db8:1:2::1");
        addresses[11] = Ip6Address.Parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

        int[] nextHops = new int[addresses.Length];
        fib.Lookup(addresses, nextHops);
        Assert.Equal(addresses.Select(fib.Lookup), nextHops);
        Assert.Contains(6, nextHops);
        Assert.Contains(14, nextHops);
    }

    [Fact]
    public void Lookup_does_not_allocate()
    {
        Fib6 fib = s_golden.Value;
        var rng = new Random(6);
        var addresses = new Ip6Address[4096];
        for (int i = 0; i < addresses.Length; i++)
        {
            // Mostly inside 2001:db8:1:2::/64 so lookups walk the deep levels.
            addresses[i] = new Ip6Address(0x2001_0db8_0001_0002, (ulong)rng.NextInt64() & 0x8000_0000_0000_03FF);
        }

        long sum = 0;
        int[] nextHops = new int[256];
        for (int i = 0; i < 1000; i++)
        {
            sum += fib.Lookup(addresses[i]);
        }

        fib.Lookup(addresses.AsSpan(0, 256), nextHops);

        // Best of three: the first pass may include the JIT's on-stack replacement of these long loops; a real
        // allocation per lookup would show in every pass.
        long fewest = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1_000_000; i++)
            {
                sum += fib.Lookup(addresses[i & 4095]);
            }

            for (int i = 0; i < 1_000_000; i += 256)
            {
                fib.Lookup(addresses.AsSpan(i & 4095, 256), nextHops);
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
        Assert.NotEqual(0, sum);
    }
}
