using System.Runtime.CompilerServices;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// Route targets indexed by the FIB's values, plus next-hop IP -> adjacency for ARP/NDP learning. Fixed
/// capacity; built by the control plane. The packet path only reads, except the ARP/NDP stage, which writes a
/// resolved MAC into an existing adjacency with a single atomic store.
/// </summary>
public sealed class AdjacencyTable(int capacity)
{
    private readonly Adjacency[] _entries = new Adjacency[capacity];
    private readonly Dictionary<IpAddress, int> _byNextHop = [];
    private readonly Stack<int> _free = new();

    public int Count { get; private set; }

    /// <summary>The hosts on the uplink's connected subnets, where a <see cref="AdjacencyKind.Glean"/> adjacency finds each destination's MAC.</summary>
    public NeighborTable Neighbors { get; } = new();

    public ref Adjacency this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _entries[index];
    }

    public int Add(in Adjacency adjacency)
    {
        if (adjacency.Kind != AdjacencyKind.NextHop && _free.TryPop(out int reused))
        {
            _entries[reused] = adjacency;
            return reused;
        }

        if (Count == _entries.Length)
        {
            throw new InvalidOperationException($"adjacency table full ({_entries.Length})");
        }

        _entries[Count] = adjacency;
        if (adjacency.Kind == AdjacencyKind.NextHop)
        {
            _byNextHop[adjacency.NextHop] = Count;
        }

        return Count++;
    }

    /// <summary>Finds or adds the adjacency for a next hop, so routes sharing a next hop share its resolution.</summary>
    public int AddNextHop(IpAddress nextHop, ushort port, MacAddress? mac)
    {
        if (_byNextHop.TryGetValue(nextHop, out int existing))
        {
            return existing;
        }

        return Add(new Adjacency
        {
            Kind = AdjacencyKind.NextHop,
            Port = port,
            NextHop = nextHop,
            Mac = mac?.Value ?? 0,
            Static = mac is not null,
        });
    }

    /// <summary>
    /// ARP/NDP learned <paramref name="ip"/> is at <paramref name="mac"/>: resolves the adjacency of that next hop
    /// if there is one (dynamic only). Returns whether it changed anything.
    /// </summary>
    public bool TryResolve(IpAddress ip, MacAddress mac)
    {
        if (!_byNextHop.TryGetValue(ip, out int index))
        {
            return false;
        }

        ref Adjacency adjacency = ref _entries[index];
        if (adjacency.Static || adjacency.Mac == mac.Value)
        {
            return false;
        }

        Volatile.Write(ref adjacency.Mac, mac.Value);
        return true;
    }

    /// <summary>
    /// Frees a pod's adjacency (the pod went away) for the next pod to reuse. Its slot turns into "host unreachable"
    /// until then, so a route the caller failed to remove first still answers sensibly. Next hops stay for the node's life.
    /// </summary>
    public void Remove(int index)
    {
        if (_entries[index].Kind != AdjacencyKind.Pod)
        {
            throw new InvalidOperationException($"adjacency {index} is a {_entries[index].Kind}, not a pod's");
        }

        _entries[index] = new Adjacency { Kind = AdjacencyKind.PodSubnet, Port = Pipeline.PortIds.None, Static = true };
        _free.Push(index);
    }

    public ReadOnlySpan<Adjacency> Entries => _entries.AsSpan(0, Count);
}
