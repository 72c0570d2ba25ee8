using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>One installed rule of a FIB, as its <c>Routes</c> list it: a prefix and its next-hop/adjacency index.</summary>
internal readonly record struct FibRoute(IpPrefix Prefix, int NextHop)
{
    public override string ToString() => $"{Prefix} -> {NextHop}";
}
