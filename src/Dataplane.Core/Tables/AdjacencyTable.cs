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
        if (_free.TryPop(out int reused))
        {
            _entries[reused] = adjacency;
            if (adjacency.Kind == AdjacencyKind.NextHop)
            {
                _byNextHop[adjacency.NextHop] = reused;
            }

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
    /// Frees a pod's adjacency (the pod went away), or a route's next hop or VXLAN tunnel (the route went away: the
    /// caller deleted the routes using it first), for the next one to reuse. Its slot turns into "host unreachable"
    /// until then, so a route the caller failed to remove first still answers sensibly.
    /// </summary>
    public void Remove(int index)
    {
        ref Adjacency entry = ref _entries[index];
        if (entry.Kind is not (AdjacencyKind.Pod or AdjacencyKind.NextHop or AdjacencyKind.Vxlan))
        {
            throw new InvalidOperationException($"adjacency {index} is a {entry.Kind}, not a pod's or a route's");
        }

        if (entry.Kind == AdjacencyKind.NextHop)
        {
            _byNextHop.Remove(entry.NextHop);
        }

        entry = new Adjacency { Kind = AdjacencyKind.PodSubnet, Port = Pipeline.PortIds.None, Static = true };
        _free.Push(index);
    }

    /// <summary>Free slots: what <see cref="Add"/> can still take without growing past its capacity.</summary>
    public int Available => _entries.Length - Count + _free.Count;

    public ReadOnlySpan<Adjacency> Entries => _entries.AsSpan(0, Count);
}
