using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// The node's routing table for both families, keyed by <see cref="IpPrefix"/> for the control plane
/// (the config's routes). The packet path calls <see cref="V4"/> and <see cref="V6"/> directly with the
/// family it already parsed. Capacities are fixed at construction; a full table makes Insert return
/// <see cref="FibResult.Full"/>.
/// </summary>
public sealed class Fib
{
    /// <summary>What a lookup returns when no prefix contains the address.</summary>
    public const int NoRoute = -1;

    /// <param name="ip4GroupCapacity">IPv4 /24s that may hold a /25-/32 (768 B each; the fixed part is 48 MiB).</param>
    /// <param name="ip6NodeCapacity">IPv6 trie nodes (1.25 KiB each; the fixed part is 320 KiB).</param>
    public Fib(int ip4GroupCapacity, int ip6NodeCapacity)
    {
        V4 = new Fib4(ip4GroupCapacity);
        V6 = new Fib6(ip6NodeCapacity);
    }

    public Fib4 V4 { get; }

    public Fib6 V6 { get; }

    public int Count => V4.Count + V6.Count;

    public long MemoryBytes => V4.MemoryBytes + V6.MemoryBytes;

    /// <summary>IPv4 rules then IPv6 rules, for tests to compare with what they inserted. Allocates.</summary>
    internal IEnumerable<FibRoute> Routes
    {
        get
        {
            foreach (FibRoute route in V4.Routes)
            {
                yield return route;
            }

            foreach (FibRoute route in V6.Routes)
            {
                yield return route;
            }
        }
    }

    public FibResult Insert(IpPrefix prefix, int nextHop)
        => prefix.IsV4 ? V4.Insert(prefix.Address.V4, prefix.Length, nextHop) : V6.Insert(prefix.Address.V6, prefix.Length, nextHop);

    public bool Delete(IpPrefix prefix)
        => prefix.IsV4 ? V4.Delete(prefix.Address.V4, prefix.Length) : V6.Delete(prefix.Address.V6, prefix.Length);

    public bool TryGetRoute(IpPrefix prefix, out int nextHop)
        => prefix.IsV4 ? V4.TryGetRoute(prefix.Address.V4, prefix.Length, out nextHop) : V6.TryGetRoute(prefix.Address.V6, prefix.Length, out nextHop);

    public int Lookup(IpAddress address) => address.IsV4 ? V4.Lookup(address.V4) : V6.Lookup(address.V6);

    public void Clear()
    {
        V4.Clear();
        V6.Clear();
    }

    /// <inheritdoc cref="Fib4.ReclaimRetired"/>
    public void ReclaimRetired()
    {
        V4.ReclaimRetired();
        V6.ReclaimRetired();
    }
}
