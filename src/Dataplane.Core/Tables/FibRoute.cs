using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>One rule of a FIB as the control API lists it (<c>ctl routes</c>): a prefix and its next-hop/adjacency index.</summary>
public readonly record struct FibRoute(IpPrefix Prefix, int NextHop)
{
    public override string ToString() => $"{Prefix} -> {NextHop}";
}
