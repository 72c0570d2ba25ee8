using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane.Tests.Tables;

[Trait("Category", "unit")]
public sealed class FibTests
{
    [Fact]
    public void Prefixes_go_to_the_table_of_their_family()
    {
        var fib = new Fib(ip4GroupCapacity: 4, ip6NodeCapacity: 16);
        Assert.Equal(FibResult.Added, fib.Insert(IpPrefix.Parse("10.244.1.0/24"), 3));
        Assert.Equal(FibResult.Added, fib.Insert(IpPrefix.Parse("fd00:10:244:1::/64"), 4));
        Assert.Equal(FibResult.Added, fib.Insert(IpPrefix.Parse("0.0.0.0/0"), 1));
        Assert.Equal(FibResult.Added, fib.Insert(IpPrefix.Parse("::/0"), 2));

        Assert.Equal(4, fib.Count);
        Assert.Equal(2, fib.V4.Count);
        Assert.Equal(2, fib.V6.Count);
        Assert.Equal(3, fib.Lookup(IpAddress.Parse("10.244.1.9")));
        Assert.Equal(1, fib.Lookup(IpAddress.Parse("10.244.2.9")));
        Assert.Equal(4, fib.Lookup(IpAddress.Parse("fd00:10:244:1::9")));
        Assert.Equal(2, fib.Lookup(IpAddress.Parse("fd00:10:244:2::9")));
        Assert.True(fib.TryGetRoute(IpPrefix.Parse("fd00:10:244:1::/64"), out int nextHop));
        Assert.Equal(4, nextHop);

        Assert.Equal(
            new[] { "0.0.0.0/0 -> 1", "10.244.1.0/24 -> 3", "::/0 -> 2", "fd00:10:244:1::/64 -> 4" },
            fib.Routes.Select(r => r.ToString()).ToArray());

        Assert.True(fib.Delete(IpPrefix.Parse("10.244.1.0/24")));
        Assert.True(fib.Delete(IpPrefix.Parse("fd00:10:244:1::/64")));
        Assert.Equal(1, fib.Lookup(IpAddress.Parse("10.244.1.9")));
        Assert.Equal(2, fib.Lookup(IpAddress.Parse("fd00:10:244:1::9")));

        fib.Clear();
        Assert.Equal(0, fib.Count);
        Assert.Equal(Fib.NoRoute, fib.Lookup(IpAddress.Parse("10.244.1.9")));
        Assert.Equal(Fib.NoRoute, fib.Lookup(IpAddress.Parse("fd00:10:244:1::9")));
    }
}
