using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane.Tests.Tables;

/// <summary>CIDR-string shorthands so golden tables read like a route listing.</summary>
internal static class FibCidr
{
    public static FibResult Add(this Fib4 fib, string cidr, int nextHop)
    {
        IpPrefix p = IpPrefix.Parse(cidr);
        return fib.Insert(p.Address.V4, p.Length, nextHop);
    }

    public static bool Remove(this Fib4 fib, string cidr)
    {
        IpPrefix p = IpPrefix.Parse(cidr);
        return fib.Delete(p.Address.V4, p.Length);
    }

    public static int Lookup(this Fib4 fib, string address) => fib.Lookup(Ip4Address.Parse(address));

    public static FibResult Add(this Fib6 fib, string cidr, int nextHop)
    {
        IpPrefix p = IpPrefix.Parse(cidr);
        return fib.Insert(p.Address.V6, p.Length, nextHop);
    }

    public static bool Remove(this Fib6 fib, string cidr)
    {
        IpPrefix p = IpPrefix.Parse(cidr);
        return fib.Delete(p.Address.V6, p.Length);
    }

    public static int Lookup(this Fib6 fib, string address) => fib.Lookup(Ip6Address.Parse(address));
}
