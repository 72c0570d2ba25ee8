using Dataplane.Tables;

namespace Dataplane.Model;

/// <summary>
/// Limits of one node that the config layer reports with positions, so that building a <see cref="NodeDataplane"/>
/// from a valid <see cref="NodeConfig"/> cannot fail.
/// </summary>
public static class NodeRules
{
    /// <summary>
    /// Pods plus distinct route next hops: each is an adjacency, and an IPv4 FIB entry holds its adjacency in 15 bits
    /// (<see cref="Fib4.MaxNextHop"/>); the node's own addresses and its pod subnet take two more.
    /// </summary>
    public const int MaxPodsAndNextHops = Fib4.MaxNextHop + 1 - 2;
}
