using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane.Tests.Tables;

[Trait("Category", "unit")]
public sealed class Fib4Tests
{
    // Each Fib4 is 48 MiB of fixed tables; the golden cases share one, built once and only read.
    private static readonly Lazy<Fib4> s_golden = new(() =>
    {
        var fib = new Fib4(groupCapacity: 16);
        fib.Add("0.0.0.0/0", 1);
        fib.Add("10.0.0.0/8", 2);
        fib.Add("10.1.0.0/16", 3);
        fib.Add("10.1.2.0/24", 4);
        fib.Add("10.1.2.128/25", 5);
        fib.Add("10.1.2.200/32", 6);
        fib.Add("10.1.2.192/26", 7);
        fib.Add("10.1.3.0/31", 8);
        return fib;
    });

    [Theory]
    [InlineData("outside every specific prefix takes the default route", "192.0.2.1", 1)]
    [InlineData("lowest address takes the default route", "0.0.0.0", 1)]
    [InlineData("highest address takes the default route", "255.255.255.255", 1)]
    [InlineData("inside /8 only", "10.200.0.1", 2)]
    [InlineData("first address of the /8", "10.0.0.0", 2)]
    [InlineData("last address of the /8", "10.255.255.255", 2)]
    [InlineData("inside /16, outside its /24s", "10.1.200.1", 3)]
    [InlineData("inside /24, below its /25", "10.1.2.1", 4)]
    [InlineData("last address below the /25", "10.1.2.127", 4)]
    [InlineData("first address of the /25", "10.1.2.128", 5)]
    [InlineData("/25, below the /26", "10.1.2.191", 5)]
    [InlineData("/26 inside the /25", "10.1.2.192", 7)]
    [InlineData("/32 host route inside the /26", "10.1.2.200", 6)]
    [InlineData("neighbour of the host route stays on the /26", "10.1.2.201", 7)]
    [InlineData("last address of the /26", "10.1.2.255", 7)]
    [InlineData("/31 in the next /24", "10.1.3.1", 8)]
    [InlineData("just past the /31 falls back to the /16", "10.1.3.2", 3)]
    public void Golden_lookup_picks_the_longest_match(string description, string address, int expected)
    {
        Assert.True(s_golden.Value.Lookup(address) == expected, $"{description}: {address} -> {s_golden.Value.Lookup(address)}, expected {expected}");
    }

    [Fact]
    public void Empty_table_has_no_route()
    {
        var fib = new Fib4(0);
        Assert.Equal(Fib.NoRoute, fib.Lookup("10.0.0.1"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("0.0.0.0"));
        Assert.Equal(0, fib.Count);
    }

    [Fact]
    public void Default_route_alone_matches_every_address_and_its_delete_empties_the_table()
    {
        var fib = new Fib4(0);
        Assert.Equal(FibResult.Added, fib.Add("0.0.0.0/0", 9));
        foreach (string a in new[] { "0.0.0.0", "1.2.3.4", "128.0.0.0", "255.255.255.255" })
        {
            Assert.Equal(9, fib.Lookup(a));
        }

        Assert.True(fib.Remove("0.0.0.0/0"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("1.2.3.4"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("255.255.255.255"));
    }

    [Fact]
    public void Deleting_a_prefix_restores_the_next_less_specific_one()
    {
        var fib = new Fib4(4);
        fib.Add("0.0.0.0/0", 1);
        fib.Add("10.0.0.0/8", 2);
        fib.Add("10.1.0.0/16", 3);
        fib.Add("10.1.2.0/24", 4);
        fib.Add("10.1.2.128/25", 5);
        fib.Add("10.1.2.200/32", 6);

        Assert.True(fib.Remove("10.1.2.200/32"));
        Assert.Equal(5, fib.Lookup("10.1.2.200"));
        Assert.True(fib.Remove("10.1.2.128/25"));
        Assert.Equal(4, fib.Lookup("10.1.2.200"));
        Assert.True(fib.Remove("10.1.2.0/24"));
        Assert.Equal(3, fib.Lookup("10.1.2.200"));
        Assert.True(fib.Remove("10.1.0.0/16"));
        Assert.Equal(2, fib.Lookup("10.1.2.200"));
        Assert.True(fib.Remove("10.0.0.0/8"));
        Assert.Equal(1, fib.Lookup("10.1.2.200"));
        Assert.True(fib.Remove("0.0.0.0/0"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("10.1.2.200"));
        Assert.Equal(0, fib.Count);
    }

    [Fact]
    public void Deleting_a_covering_prefix_keeps_the_more_specific_ones()
    {
        var fib = new Fib4(4);
        fib.Add("10.0.0.0/8", 2);
        fib.Add("10.1.2.0/24", 4);
        fib.Add("10.1.2.128/25", 5);

        Assert.True(fib.Remove("10.0.0.0/8"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("10.9.9.9"));
        Assert.Equal(4, fib.Lookup("10.1.2.1"));
        Assert.Equal(5, fib.Lookup("10.1.2.129"));

        // A /24 removed under a live /25 restores "no route" below the /25 only.
        Assert.True(fib.Remove("10.1.2.0/24"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("10.1.2.1"));
        Assert.Equal(5, fib.Lookup("10.1.2.129"));
    }

    [Fact]
    public void Insert_order_does_not_matter()
    {
        var fib = new Fib4(4);
        fib.Add("10.1.2.200/32", 6);
        fib.Add("10.1.2.128/25", 5);
        fib.Add("10.1.2.0/24", 4);
        fib.Add("10.0.0.0/8", 2);
        fib.Add("0.0.0.0/0", 1);

        Assert.Equal(6, fib.Lookup("10.1.2.200"));
        Assert.Equal(5, fib.Lookup("10.1.2.201"));
        Assert.Equal(4, fib.Lookup("10.1.2.1"));
        Assert.Equal(2, fib.Lookup("10.1.3.1"));
        Assert.Equal(1, fib.Lookup("11.0.0.0"));
    }

    [Fact]
    public void Inserting_an_existing_prefix_replaces_its_next_hop()
    {
        var fib = new Fib4(4);
        fib.Add("10.1.2.0/24", 4);
        fib.Add("10.1.2.128/25", 5);

        Assert.Equal(FibResult.Replaced, fib.Add("10.1.2.0/24", 40));
        Assert.Equal(FibResult.Replaced, fib.Add("10.1.2.128/25", 50));
        Assert.Equal(2, fib.Count);
        Assert.Equal(40, fib.Lookup("10.1.2.1"));
        Assert.Equal(50, fib.Lookup("10.1.2.129"));
        Assert.True(fib.TryGetRoute(Ip4Address.Parse("10.1.2.0"), 24, out int nextHop));
        Assert.Equal(40, nextHop);
    }

    [Fact]
    public void A_group_is_retired_when_its_last_long_prefix_goes_and_reused_after_reclaim()
    {
        var fib = new Fib4(1);
        fib.Add("10.1.2.0/24", 4);
        fib.Add("10.1.2.128/25", 5);
        fib.Add("10.1.2.7/32", 6);
        Assert.Equal(1, fib.GroupsInUse);

        Assert.True(fib.Remove("10.1.2.128/25"));
        Assert.Equal(1, fib.GroupsInUse);
        Assert.True(fib.Remove("10.1.2.7/32"));
        Assert.Equal(0, fib.GroupsInUse);
        Assert.Equal(1, fib.GroupsRetired);
        Assert.Equal(4, fib.Lookup("10.1.2.7"));
        Assert.Equal(4, fib.Lookup("10.1.2.129"));

        // Retired is not free: a reader might still be inside it.
        Assert.Equal(FibResult.Full, fib.Add("10.9.9.0/25", 7));
        fib.ReclaimRetired();
        Assert.Equal(FibResult.Added, fib.Add("10.9.9.0/25", 7));
        Assert.Equal(7, fib.Lookup("10.9.9.1"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("10.9.9.129"));
    }

    [Fact]
    public void Exhausted_groups_make_insert_return_Full_and_change_nothing()
    {
        var fib = new Fib4(groupCapacity: 2);
        fib.Add("10.0.0.0/8", 2);
        Assert.Equal(FibResult.Added, fib.Add("10.1.1.0/25", 11));
        Assert.Equal(FibResult.Added, fib.Add("10.1.2.0/25", 12));

        Assert.Equal(FibResult.Full, fib.Add("10.1.3.0/25", 13));
        Assert.Equal(2, fib.Lookup("10.1.3.1"));
        Assert.Equal(3, fib.Count);
        Assert.False(fib.TryGetRoute(Ip4Address.Parse("10.1.3.0"), 25, out _));
        Assert.DoesNotContain(fib.Routes, r => r.NextHop == 13);

        // Longer prefixes in /24s that already have a group, and /24-or-shorter ones, still fit.
        Assert.Equal(FibResult.Added, fib.Add("10.1.1.200/32", 14));
        Assert.Equal(FibResult.Added, fib.Add("10.1.3.0/24", 15));
        Assert.Equal(14, fib.Lookup("10.1.1.200"));
        Assert.Equal(15, fib.Lookup("10.1.3.1"));
    }

    [Theory]
    [InlineData("10.1.2.1", 24, 1, FibResult.InvalidPrefix)]
    [InlineData("10.0.0.0", 33, 1, FibResult.InvalidPrefix)]
    [InlineData("10.0.0.0", -1, 1, FibResult.InvalidPrefix)]
    [InlineData("128.0.0.0", 0, 1, FibResult.InvalidPrefix)]
    [InlineData("10.0.0.0", 8, -1, FibResult.InvalidNextHop)]
    [InlineData("10.0.0.0", 8, Fib4.MaxNextHop + 1, FibResult.InvalidNextHop)]
    [InlineData("10.0.0.0", 8, Fib4.MaxNextHop, FibResult.Added)]
    [InlineData("255.255.255.255", 32, 0, FibResult.Added)]
    public void Insert_validates_prefix_and_next_hop(string network, int length, int nextHop, FibResult expected)
    {
        var fib = new Fib4(1);
        Assert.Equal(expected, fib.Insert(Ip4Address.Parse(network), length, nextHop));
        Assert.Equal(expected == FibResult.Added ? 1 : 0, fib.Count);
        if (expected == FibResult.Added)
        {
            Assert.Equal(nextHop, fib.Lookup(Ip4Address.Parse(network)));
        }
    }

    [Fact]
    public void Deleting_a_missing_prefix_returns_false()
    {
        var fib = new Fib4(1);
        fib.Add("10.0.0.0/8", 2);
        Assert.False(fib.Remove("10.0.0.0/9"));
        Assert.False(fib.Remove("11.0.0.0/8"));
        Assert.False(fib.Delete(Ip4Address.Parse("10.0.0.1"), 8));
        Assert.Equal(2, fib.Lookup("10.0.0.1"));
    }

    [Fact]
    public void Clear_removes_every_rule_and_retires_every_group()
    {
        var fib = new Fib4(4);
        fib.Add("0.0.0.0/0", 1);
        fib.Add("10.1.2.128/25", 5);
        fib.Add("10.1.3.1/32", 6);
        fib.Clear();

        Assert.Equal(0, fib.Count);
        Assert.Empty(fib.Routes);
        Assert.Equal(Fib.NoRoute, fib.Lookup("10.1.2.129"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("8.8.8.8"));
        Assert.Equal(0, fib.GroupsInUse);
        Assert.Equal(2, fib.GroupsRetired);

        fib.ReclaimRetired();
        fib.Add("10.1.2.128/25", 5);
        Assert.Equal(5, fib.Lookup("10.1.2.129"));
        Assert.Equal(Fib.NoRoute, fib.Lookup("10.1.2.1"));
    }

    [Fact]
    public void Routes_lists_every_rule_once()
    {
        var fib = new Fib4(2);
        fib.Add("0.0.0.0/0", 1);
        fib.Add("10.1.2.128/25", 5);
        fib.Add("10.1.2.128/25", 6);

        Assert.Equal(
            new[] { new FibRoute(IpPrefix.Parse("0.0.0.0/0"), 1), new FibRoute(IpPrefix.Parse("10.1.2.128/25"), 6) },
            fib.Routes.ToArray());
    }

    [Fact]
    public void Batch_lookup_matches_single_lookups()
    {
        Fib4 fib = s_golden.Value;
        Ip4Address[] addresses = new[] { "10.1.2.200", "10.1.2.201", "192.0.2.1", "10.1.3.1" }.Select(Ip4Address.Parse).ToArray();
        int[] nextHops = new int[addresses.Length];
        fib.Lookup(addresses, nextHops);
        Assert.Equal(addresses.Select(fib.Lookup), nextHops);
    }

    [Fact]
    public void Lookup_does_not_allocate()
    {
        Fib4 fib = s_golden.Value;
        var rng = new Random(4);
        var addresses = new Ip4Address[4096];
        for (int i = 0; i < addresses.Length; i++)
        {
            addresses[i] = new Ip4Address((uint)rng.NextInt64() & 0x0AFF_FFFF);
        }

        long sum = 0;
        for (int i = 0; i < 1000; i++)
        {
            sum += fib.Lookup(addresses[i]);
        }

        // Best of three: the first pass may include the JIT's on-stack replacement of this long loop; a real
        // allocation per lookup would show in every pass.
        long fewest = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1_000_000; i++)
            {
                sum += fib.Lookup(addresses[i & 4095]);
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
        Assert.NotEqual(0, sum);
    }
}
