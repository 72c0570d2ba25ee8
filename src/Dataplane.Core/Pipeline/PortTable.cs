using Dataplane.Packets;

namespace Dataplane.Pipeline;

/// <summary>
/// Every port of the node by id: the uplink (id 0 when configured) and the pods, static or added at run time.
/// Fixed capacity (the uplink plus <c>dataplane.maxPods</c>), so every per-port array a stage or worker keeps is
/// sized once and a pod added later never resizes anything the packet path reads; ids of removed pods are reused,
/// lowest first. Changed only by the control plane (<see cref="Control.PodController"/>) while no graph runs a
/// batch: the daemon pauses its workers around a change (VPP's worker barrier), replay and tests are single-threaded.
/// Readers on the packet path index <see cref="this[int]"/> and read <see cref="FloodPorts"/> once per flush.
/// </summary>
public sealed class PortTable : IEnumerable<Port>
{
    private readonly Port?[] _slots;
    private readonly int[] _mtu;
    private ushort[] _flood = [];
    private Port[] _current = [];

    public PortTable(int capacity)
    {
        if (capacity is < 1 or >= PortIds.None)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"a node has 1..{PortIds.None - 1} ports");
        }

        _slots = new Port?[capacity];
        _mtu = new int[capacity];
    }

    /// <summary>How many ports the node can have at once; port ids are below this.</summary>
    public int Capacity => _slots.Length;

    /// <summary>The port with this id, or null for a free id.</summary>
    public Port? this[int id] => _slots[id];

    /// <summary>The uplink, if the node has one.</summary>
    public Port? Uplink { get; private set; }

    /// <summary>The host port (the node's kernel), if the node has one.</summary>
    public Port? Host { get; private set; }

    /// <summary>Per port id: the largest L3 datagram it sends unfragmented (0 for a free id).</summary>
    public ReadOnlySpan<int> Mtu => _mtu;

    /// <summary>The pod ports a flood goes to (all pods; the ingress port is skipped by the flush).</summary>
    public ushort[] FloodPorts => Volatile.Read(ref _flood);

    /// <summary>The ports in id order, as of the last change: for listing, counters and traces, not the packet path.</summary>
    public IReadOnlyList<Port> Current => Volatile.Read(ref _current);

    public int Count => Current.Count;

    /// <summary>The port named <paramref name="name"/> as of the last change; safe from any thread (a search of <see cref="Current"/>).</summary>
    public bool TryGet(string name, out Port port)
    {
        foreach (Port candidate in Current)
        {
            if (candidate.Name == name)
            {
                port = candidate;
                return true;
            }
        }

        port = null!;
        return false;
    }

    /// <summary>
    /// Adds a port under the lowest free id and returns it. Throws <see cref="InvalidOperationException"/> when the
    /// table is full or the name is taken: callers check both first (<see cref="Control.PodController"/> reports them).
    /// </summary>
    public Port Add(string name, PortKind kind, MacAddress mac, Ip4Address ip4, Ip6Address? ip6, int mtu, Ip6Address? linkLocal = null)
    {
        if (TryGet(name, out _))
        {
            throw new InvalidOperationException($"port name '{name}' is in use");
        }

        int id = Array.IndexOf(_slots, null);
        if (id < 0)
        {
            throw new InvalidOperationException($"no free port: the node has {Capacity} (dataplane.maxPods)");
        }

        var port = new Port((ushort)id, name, kind, mac, ip4, ip6, mtu, linkLocal);
        _slots[id] = port;
        _mtu[id] = mtu;
        if (kind == PortKind.Uplink)
        {
            Uplink = port;
        }
        else if (kind == PortKind.Host)
        {
            Host = port;
        }

        Publish();
        return port;
    }

    /// <summary>Frees the port's id; false if there is no such port.</summary>
    public bool Remove(ushort id)
    {
        if (_slots[id] is not { } port)
        {
            return false;
        }

        _slots[id] = null;
        _mtu[id] = 0;
        if (ReferenceEquals(port, Uplink))
        {
            Uplink = null;
        }
        else if (ReferenceEquals(port, Host))
        {
            Host = null;
        }

        Publish();
        return true;
    }

    public bool IsFull => Array.IndexOf(_slots, null) < 0;

    /// <summary>The ports in id order, as of now (<see cref="Current"/>).</summary>
    public IEnumerator<Port> GetEnumerator() => Current.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    private void Publish()
    {
        var current = new List<Port>();
        var flood = new List<ushort>();
        foreach (Port? port in _slots)
        {
            if (port is null)
            {
                continue;
            }

            current.Add(port);
            if (port.Kind == PortKind.Pod)
            {
                flood.Add(port.Id);
            }
        }

        Volatile.Write(ref _current, [.. current]);
        Volatile.Write(ref _flood, [.. flood]);
    }
}
