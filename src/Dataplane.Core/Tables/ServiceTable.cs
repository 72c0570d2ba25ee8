using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// Service VIP:port/protocol -&gt; <see cref="ServicePort"/> for the load balancer: an open-addressing hash table with
/// linear probing and a fixed power-of-two capacity of at least 2 x the maximum number of service ports (load factor
/// &lt;= 1/2, so a lookup is one or two slot loads whatever the number of services). Full (maximum service ports in
/// use): <see cref="Apply"/> returns an error and changes nothing; the table never grows.
/// <para>
/// One writer, many readers. Writers must serialize calls to <see cref="Apply"/> and <see cref="Remove"/> themselves
/// (one lock, or one thread): in the node that writer is <see cref="Control.ServiceController"/>, which also decides
/// what changed. A service breaking <see cref="ServiceRules"/> is refused with reasons (the config layer has already
/// reported it with a position; this guards the table against services built in code). Readers (packet workers, any number of threads) never
/// lock and never wait:
/// <list type="bullet">
/// <item>A slot holds only a reference to an immutable <see cref="ServicePort"/>, which carries its own key. Publishing,
/// replacing or deleting is one reference write (<see cref="Volatile.Write{T}(ref T, T)"/>, release order) made after
/// the snapshot is fully built, so a reader sees the old snapshot or the new one, never a mix. There is no separate
/// key array whose write could be seen before (or torn against) its value. The key compare dereferences the
/// snapshot: with 100k services that is the lookup's second cache miss, but the caller reads that object next anyway
/// to pick a backend, so a new flow pays it either way.</item>
/// <item>Deletion writes a shared tombstone; a reader treats it as "occupied, keep probing". Backward-shift deletion
/// would move live entries towards their home slot, and a reader that had already probed past the destination
/// would miss a live service during the move; tombstones never move anything.</item>
/// <item>Insertion reuses the first tombstone on the key's probe path or takes the empty slot ending it; either way
/// a concurrent reader of another key still finds its own key further along (nothing it needs moves).</item>
/// <item>When live entries plus tombstones pass 3/4 of the slots (probe chains lengthen, and misses stop only at an
/// empty slot), the writer rehashes the live snapshots into a fresh slot array and publishes the array with one
/// reference write. A reader still probing the old array finds the same snapshots there: its lookup simply
/// linearizes before the change. Only references are copied; no service is rebuilt.</item>
/// </list>
/// Multi-port services switch port by port: each <see cref="ServicePort"/> is consistent on its own, and each new flow
/// consults exactly one.
/// </para>
/// </summary>
public sealed class ServiceTable
{
    public const int DefaultMaxServicePorts = ServiceRules.MaxServicePorts;

    private static readonly ServicePort s_tombstone = new(
        default, "(deleted)", null, Scheduler.Maglev, SessionAffinity.None, 0, [], null, null, 0);

    private ServicePort?[] _slots; // replaced as a whole only by Rehash
    private readonly int _maxServicePorts;
    private readonly int _maglevMinimumSize;
    private readonly int _affinityCapacity;
    private readonly ServiceNode _node;
    private int _liveCount;
    private int _tombstoneCount;
    private int _nextStableId = 1;
    private readonly Dictionary<string, ServiceRecord> _services = new(StringComparer.Ordinal);

    /// <param name="maxServicePorts">Most VIP:port/protocol keys (each family of each port counts once).</param>
    /// <param name="maglevTableSize">Minimum Maglev table size (rounded up to a prime; grown to 100 x backends when needed).</param>
    /// <param name="affinityCapacity">ClientIP entries per service port with affinity.</param>
    /// <param name="node">The node's addresses (node ports) and pod CIDRs (which endpoints are local); none by default.</param>
    public ServiceTable(
        int maxServicePorts = DefaultMaxServicePorts,
        int maglevTableSize = MaglevTable.DefaultSize,
        int affinityCapacity = AffinityTable.DefaultCapacity,
        ServiceNode? node = null)
    {
        _node = node ?? ServiceNode.None;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxServicePorts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxServicePorts, 1 << 28);
        ArgumentOutOfRangeException.ThrowIfLessThan(maglevTableSize, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(affinityCapacity, 4);
        _maxServicePorts = maxServicePorts;
        _maglevMinimumSize = maglevTableSize;
        _affinityCapacity = affinityCapacity;
        _slots = new ServicePort?[2 * (int)BitOperations.RoundUpToPowerOf2((uint)maxServicePorts)];
    }

    /// <summary>The node the table expands services for (node ports, which endpoints are local).</summary>
    public ServiceNode Node => _node;

    /// <summary>Published service ports (keys).</summary>
    public int Count => Volatile.Read(ref _liveCount);

    /// <summary>The most service ports this table accepts.</summary>
    public int MaxServicePorts => _maxServicePorts;

    /// <summary>Slots in the hash table (a power of two, at least 2 x <see cref="MaxServicePorts"/>).</summary>
    public int SlotCount => _slots.Length;

    /// <summary>Finds the service port for a packet's destination. O(1), no allocation, no lock; any thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(in ServiceKey key, [MaybeNullWhen(false)] out ServicePort port)
    {
        ServicePort?[] slots = Volatile.Read(ref _slots);
        ref ServicePort? first = ref MemoryMarshal.GetArrayDataReference(slots);
        int mask = slots.Length - 1;
        int i = (int)key.Hash & mask;
        while (true)
        {
            ServicePort? candidate = Volatile.Read(ref Unsafe.Add(ref first, i));
            if (candidate is null)
            {
                port = null;
                return false;
            }

            if (candidate.Key.Equals(key) && !ReferenceEquals(candidate, s_tombstone))
            {
                port = candidate;
                return true;
            }

            i = (i + 1) & mask;
        }
    }

    /// <summary>Releases one open connection counted by a pick (see <see cref="ServicePort"/>'s contract); any thread.</summary>
    public void ReleaseConnection(in ServiceKey key, int backendStableId)
    {
        if (TryLookup(in key, out ServicePort? port))
        {
            port.ReleaseConnection(backendStableId);
        }
    }

    /// <summary>See <see cref="ServicePort.RestoreConnection"/>; -1 when the service port is gone too.</summary>
    public int RestoreConnection(in ServiceKey key, in IpAddress backendIp, ushort backendPort, in IpAddress client, long nowNanoseconds)
        => TryLookup(in key, out ServicePort? port) ? port.RestoreConnection(in backendIp, backendPort, in client, nowNanoseconds) : -1;

    /// <summary>Every published service port, in slot order (for <c>ctl services</c>; allocates; any thread).</summary>
    public IEnumerable<ServicePort> Ports
    {
        get
        {
            ServicePort?[] slots = Volatile.Read(ref _slots);
            for (int i = 0; i < slots.Length; i++)
            {
                ServicePort? port = Volatile.Read(ref slots[i]);
                if (port is not null && !ReferenceEquals(port, s_tombstone))
                {
                    yield return port;
                }
            }
        }
    }

    /// <summary>Names of the services applied (control-plane thread only).</summary>
    public IReadOnlyCollection<string> ServiceNames => _services.Keys;

    /// <summary>
    /// Adds or replaces one service: all its ports, for each family that has a cluster IP. Only this service's
    /// snapshots are built (and its Maglev tables only when its endpoint set or weights changed); ports whose
    /// configuration is unchanged stay published as the same object. Counters, connection counts and affinity entries
    /// carry over to the new snapshots. Writers must be serialized by the caller.
    /// </summary>
    public ServiceUpdate Apply(ServiceConfig service)
    {
        ArgumentNullException.ThrowIfNull(service);
        var update = new ServiceUpdate(service.Name ?? "");
        update.ErrorsList.AddRange(ServiceRules.Problems(service));
        if (!update.Succeeded)
        {
            return update;
        }

        _services.TryGetValue(service.Name!, out ServiceRecord? old);
        Dictionary<ServiceKey, ServicePort> oldPorts = old?.Ports ?? [];

        // Keys first: conflicts with other services and capacity are checked before anything is built or published.
        List<(ServiceKey Key, ServicePortConfig Port, bool V4, FrontendPolicy Policy)> keys = _node.Frontends(service);
        var seen = new HashSet<ServiceKey>();
        foreach ((ServiceKey key, _, _, _) in keys)
        {
            if (!seen.Add(key))
            {
                update.ErrorsList.Add($"{key} is two of the service's entrances");
            }
        }

        int adding = 0;
        foreach ((ServiceKey key, _, _, _) in keys)
        {
            if (TryLookup(in key, out ServicePort? owner) && owner.ServiceName != service.Name)
            {
                update.ErrorsList.Add($"{key} already belongs to service {owner.ServiceName}");
            }

            adding += oldPorts.ContainsKey(key) ? 0 : 1;
        }

        int removing = 0;
        foreach (ServiceKey key in oldPorts.Keys)
        {
            removing += seen.Contains(key) ? 0 : 1;
        }

        if (_liveCount - removing + adding > _maxServicePorts)
        {
            update.ErrorsList.Add($"service table full: {service.Name} needs {adding - removing} more ports, {_liveCount} of {_maxServicePorts} in use");
        }

        if (!update.Succeeded)
        {
            return update;
        }

        // Stable ids: kept while an endpoint stays, fresh (never reused) when it appears.
        var ids = new Dictionary<IpAddress, int>(service.Endpoints.Count);
        foreach (EndpointConfig endpoint in service.Endpoints)
        {
            ids[endpoint.Ip] = old is not null && old.StableIds.TryGetValue(endpoint.Ip, out int id) ? id : _nextStableId++;
        }

        // Endpoints with their own port numbers (from EndpointSlices), by address; null in the common case of none.
        Dictionary<IpAddress, EndpointConfig>? ownPorts = null;
        foreach (EndpointConfig endpoint in service.Endpoints)
        {
            if (endpoint.TargetPorts is not null)
            {
                (ownPorts ??= [])[endpoint.Ip] = endpoint;
            }
        }

        // Build every snapshot before publishing any.
        var record = new ServiceRecord(ids);
        foreach (bool v4 in (ReadOnlySpan<bool>)[true, false])
        {
            Backend[] all = BackendsOf(service, ids, v4, localOnly: false);
            Backend[] local = BackendsOf(service, ids, v4, localOnly: true);
            MaglevInputs? maglev = MaglevFor(service.Scheduler, all, old?.Maglev(v4, localOnly: false));
            MaglevInputs? maglevLocal = MaglevFor(service.Scheduler, local, old?.Maglev(v4, localOnly: true));
            record.SetMaglev(v4, localOnly: false, maglev);
            record.SetMaglev(v4, localOnly: true, maglevLocal);
            foreach ((ServiceKey key, ServicePortConfig portConfig, bool keyV4, FrontendPolicy policy) in keys)
            {
                if (keyV4 != v4)
                {
                    continue;
                }

                Backend[] template = policy.LocalOnly ? local : all;
                var backends = new Backend[template.Length];
                int portIndex = IndexOf(service.Ports, portConfig);
                ushort targetPort = portConfig.TargetPort != 0 ? portConfig.TargetPort : portConfig.Port;
                for (int i = 0; i < template.Length; i++)
                {
                    ushort backendPort = ownPorts is not null && ownPorts.TryGetValue(template[i].Ip, out EndpointConfig? endpoint)
                        ? endpoint.TargetPortFor(portIndex, portConfig) : targetPort;
                    backends[i] = template[i] with { Port = backendPort };
                }

                oldPorts.TryGetValue(key, out ServicePort? previous);
                var port = new ServicePort(key, service.Name!, portConfig.Name, service.Scheduler, service.SessionAffinity,
                    service.AffinityTimeoutSeconds, backends, (policy.LocalOnly ? maglevLocal : maglev)?.Table, previous, _affinityCapacity, policy);
                record.Ports[key] = previous is not null && port.SameConfiguration(previous) ? previous : port;
            }
        }

        // Publish: removals, then replacements and insertions.
        foreach ((ServiceKey key, ServicePort previous) in oldPorts)
        {
            if (!record.Ports.ContainsKey(key))
            {
                Delete(key);
                update.RemovedPortsList.Add(key);
                ReportRemovedBackends(previous, null, update);
            }
        }

        RehashIfNeeded(adding);
        foreach ((ServiceKey key, ServicePort port) in record.Ports)
        {
            if (!oldPorts.TryGetValue(key, out ServicePort? previous))
            {
                Insert(port);
                update.AddedPortsList.Add(key);
            }
            else if (!ReferenceEquals(previous, port))
            {
                Replace(port);
                update.ChangedPortsList.Add(key);
                ReportRemovedBackends(previous, port, update);
            }
        }

        _services[service.Name!] = record;
        return update;
    }

    /// <summary>Removes a service and all its ports; its backends are reported for flushing. Unknown names change nothing.</summary>
    public ServiceUpdate Remove(string serviceName)
    {
        var update = new ServiceUpdate(serviceName);
        if (!_services.Remove(serviceName, out ServiceRecord? old))
        {
            return update;
        }

        foreach ((ServiceKey key, ServicePort previous) in old.Ports)
        {
            Delete(key);
            update.RemovedPortsList.Add(key);
            ReportRemovedBackends(previous, null, update);
        }

        return update;
    }

    private static int IndexOf(IReadOnlyList<ServicePortConfig> ports, ServicePortConfig port)
    {
        for (int i = 0; i < ports.Count; i++)
        {
            if (ReferenceEquals(ports[i], port))
            {
                return i;
            }
        }

        throw new ArgumentException($"port {port} is not one of the service's", nameof(port));
    }

    /// <summary>
    /// The endpoints of one family (all, or this node's only) in address order: the order every snapshot and Maglev
    /// table of the family uses.
    /// </summary>
    private Backend[] BackendsOf(ServiceConfig service, Dictionary<IpAddress, int> ids, bool v4, bool localOnly)
    {
        var backends = new List<Backend>(service.Endpoints.Count);
        foreach (EndpointConfig e in service.Endpoints)
        {
            if (e.Ip.IsV4 == v4 && (!localOnly || _node.IsLocal(e)))
            {
                backends.Add(new Backend(e.Ip, 0, e.Weight, e.Terminating, ids[e.Ip]));
            }
        }

        backends.Sort(static (a, b) =>
        {
            int c = a.Ip.Bits.Hi.CompareTo(b.Ip.Bits.Hi);
            return c != 0 ? c : a.Ip.Bits.Lo.CompareTo(b.Ip.Bits.Lo);
        });
        return [.. backends];
    }

    /// <summary>The family's Maglev table: the previous one when the eligible addresses and weights are unchanged, else a new build.</summary>
    private MaglevInputs? MaglevFor(Scheduler scheduler, Backend[] template, MaglevInputs? previous)
    {
        int eligible = 0;
        foreach (Backend b in template)
        {
            eligible += b.IsEligible ? 1 : 0;
        }

        if (scheduler != Scheduler.Maglev || eligible < 2)
        {
            return null;
        }

        int size = MaglevTable.SizeFor(eligible, _maglevMinimumSize);
        if (previous is not null && previous.Table.Size == size && previous.Matches(template))
        {
            return previous;
        }

        return new MaglevInputs(MaglevTable.Build(template, size), template);
    }

    private static void ReportRemovedBackends(ServicePort previous, ServicePort? current, ServiceUpdate update)
    {
        foreach (Backend b in previous.Backends)
        {
            int index = current?.IndexOfStableId(b.StableId) ?? -1;
            if (index < 0 || current!.Backends[index].Port != b.Port)
            {
                update.RemovedBackendsList.Add(new RemovedBackend(previous.Key, b.Ip, b.Port, b.StableId));
            }
        }
    }

    /// <summary>The slot index of <paramref name="key"/>, or -1 (writer side).</summary>
    private int IndexOf(in ServiceKey key)
    {
        ServicePort?[] slots = _slots;
        int mask = slots.Length - 1;
        for (int i = (int)key.Hash & mask; ; i = (i + 1) & mask)
        {
            ServicePort? candidate = slots[i];
            if (candidate is null)
            {
                return -1;
            }

            if (candidate.Key.Equals(key) && !ReferenceEquals(candidate, s_tombstone))
            {
                return i;
            }
        }
    }

    private void Insert(ServicePort port)
    {
        ServicePort?[] slots = _slots;
        int mask = slots.Length - 1;
        int i = (int)port.Key.Hash & mask;
        while (slots[i] is not null && !ReferenceEquals(slots[i], s_tombstone))
        {
            i = (i + 1) & mask;
        }

        if (slots[i] is not null)
        {
            _tombstoneCount--;
        }

        Volatile.Write(ref slots[i], port);
        Volatile.Write(ref _liveCount, _liveCount + 1);
    }

    private void Replace(ServicePort port) => Volatile.Write(ref _slots[IndexOf(port.Key)], port);

    private void Delete(ServiceKey key)
    {
        Volatile.Write(ref _slots[IndexOf(in key)], s_tombstone);
        _tombstoneCount++;
        Volatile.Write(ref _liveCount, _liveCount - 1);
    }

    /// <summary>Keeps at least 1/4 of the slots empty so probe chains (and misses, which end at an empty slot) stay short.</summary>
    private void RehashIfNeeded(int adding)
    {
        ServicePort?[] slots = _slots;
        if (_liveCount + _tombstoneCount + adding <= slots.Length - slots.Length / 4)
        {
            return;
        }

        var fresh = new ServicePort?[slots.Length];
        int mask = fresh.Length - 1;
        foreach (ServicePort? port in slots)
        {
            if (port is null || ReferenceEquals(port, s_tombstone))
            {
                continue;
            }

            int i = (int)port.Key.Hash & mask;
            while (fresh[i] is not null)
            {
                i = (i + 1) & mask;
            }

            fresh[i] = port;
        }

        Volatile.Write(ref _slots, fresh);
        _tombstoneCount = 0;
    }

    /// <summary>Writer-side bookkeeping for one service: its endpoint ids, published ports and Maglev tables.</summary>
    private sealed class ServiceRecord(Dictionary<IpAddress, int> stableIds)
    {
        public Dictionary<IpAddress, int> StableIds { get; } = stableIds;

        public Dictionary<ServiceKey, ServicePort> Ports { get; } = [];

        /// <summary>Per family, for all endpoints and for this node's only (the Local traffic policies).</summary>
        private readonly MaglevInputs?[] _maglev = new MaglevInputs?[4];

        public MaglevInputs? Maglev(bool v4, bool localOnly) => _maglev[(v4 ? 0 : 2) + (localOnly ? 1 : 0)];

        public void SetMaglev(bool v4, bool localOnly, MaglevInputs? maglev) => _maglev[(v4 ? 0 : 2) + (localOnly ? 1 : 0)] = maglev;
    }

    /// <summary>A built Maglev table and what it was built from: (index, address, weight) of each eligible backend.</summary>
    private sealed class MaglevInputs
    {
        private readonly (int Index, IpAddress Ip, int Weight)[] _eligible;

        public MaglevInputs(MaglevTable table, Backend[] template)
        {
            Table = table;
            _eligible = Eligible(template);
        }

        public MaglevTable Table { get; }

        /// <summary>Same eligible backends at the same indices with the same weights: the table can be reused as is.</summary>
        public bool Matches(Backend[] template) => _eligible.AsSpan().SequenceEqual(Eligible(template));

        private static (int, IpAddress, int)[] Eligible(Backend[] template)
        {
            var eligible = new List<(int, IpAddress, int)>(template.Length);
            for (int i = 0; i < template.Length; i++)
            {
                if (template[i].IsEligible)
                {
                    eligible.Add((i, template[i].Ip, template[i].Weight));
                }
            }

            return [.. eligible];
        }
    }
}
