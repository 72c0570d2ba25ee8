using System.Runtime.CompilerServices;
using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// One service port of one family (a VIP:port/protocol) as published to the packet path: an immutable snapshot of
/// its backends and scheduling tables, plus references to the mutable runtime state (counters, round-robin position,
/// connection counts, ClientIP affinity entries) that successive snapshots of the same port share.
/// <para>
/// The control plane never changes a published snapshot; it builds a new one and swaps the reference in the
/// <see cref="ServiceTable"/> slot, so a worker holding this object always sees backends, Maglev table and
/// round-robin sequence that belong together.
/// </para>
/// <para>
/// Contract with conntrack: every successful <see cref="TryPickBackend"/> counts one open connection on the chosen
/// backend (for every scheduler, so a later switch to leastconn starts from true counts and <c>ctl services</c> can
/// show them). The caller must call <see cref="ReleaseConnection"/> (or <see cref="ServiceTable.ReleaseConnection"/>)
/// with <see cref="Backend.StableId"/> exactly once when that flow ends, including when it could not create the
/// conntrack entry. Prefer the table's method with the service key: it releases on the current snapshot and lets
/// conntrack avoid holding (and so keeping alive) old snapshots. Both work, since counts are shared.
/// </para>
/// </summary>
public sealed class ServicePort
{
    /// <summary>Kubernetes' default for <c>sessionAffinityConfig.clientIP.timeoutSeconds</c> (3 hours).</summary>
    public const int DefaultAffinityTimeoutSeconds = 10800;

    // Hot fields first: the table compares _key, then a pick reads the arrays below.
    private readonly ServiceKey _key;
    private readonly Scheduler _scheduler;
    private readonly int[] _eligible;          // indices into _backends of backends that take new flows
    private readonly Backend[] _backends;      // all backends, terminating ones included, in address order
    private readonly MaglevTable? _maglev;     // Maglev scheduler with >= 2 eligible backends; shared by the service's ports of this family
    private readonly int[] _cumulativeWeights; // random: running sum of eligible weights
    private readonly int[] _roundRobin;        // roundrobin: one weighted cycle of backend indices
    private readonly ConnectionCount[] _connections; // parallel to _backends, shared with other snapshots
    private readonly ServicePortState _state;
    private readonly AffinityTable? _affinity;
    private readonly uint _affinityTimeoutUnits;
    private readonly int[] _idsSorted;         // stable ids ascending, for id -> index
    private readonly int[] _indexOfIdSorted;   // parallel to _idsSorted

    internal ServicePort(
        ServiceKey key,
        string serviceName,
        string? portName,
        Scheduler scheduler,
        SessionAffinity sessionAffinity,
        int affinityTimeoutSeconds,
        Backend[] backends,
        MaglevTable? maglev,
        ServicePort? previous,
        int affinityCapacity,
        FrontendPolicy? policy = null)
    {
        _key = key;
        Policy = policy ?? FrontendPolicy.Cluster;
        ServiceName = serviceName;
        PortName = portName;
        _scheduler = scheduler;
        SessionAffinity = sessionAffinity;
        AffinityTimeoutSeconds = sessionAffinity == SessionAffinity.ClientIP
            ? (affinityTimeoutSeconds > 0 ? affinityTimeoutSeconds : DefaultAffinityTimeoutSeconds)
            : 0;
        _backends = backends;

        int eligibleCount = 0;
        foreach (Backend b in backends)
        {
            eligibleCount += b.IsEligible ? 1 : 0;
        }

        _eligible = new int[eligibleCount];
        _cumulativeWeights = scheduler == Scheduler.Random ? new int[eligibleCount] : [];
        int e = 0;
        int sum = 0;
        for (int i = 0; i < backends.Length; i++)
        {
            if (backends[i].IsEligible)
            {
                if (_cumulativeWeights.Length != 0)
                {
                    sum += backends[i].Weight;
                    _cumulativeWeights[e] = sum;
                }

                _eligible[e++] = i;
            }
        }

        if (maglev is not null && maglev.BackendCount != eligibleCount)
        {
            throw new ArgumentException($"Maglev table has {maglev.BackendCount} backends, port has {eligibleCount} eligible", nameof(maglev));
        }

        _maglev = scheduler == Scheduler.Maglev && eligibleCount >= 2 ? maglev ?? MaglevTable.Build(backends) : null;
        _roundRobin = scheduler == Scheduler.RoundRobin ? RoundRobinSequence.Build(backends, _eligible) : [];

        _idsSorted = new int[backends.Length];
        _indexOfIdSorted = new int[backends.Length];
        for (int i = 0; i < backends.Length; i++)
        {
            _idsSorted[i] = backends[i].StableId;
            _indexOfIdSorted[i] = i;
        }

        Array.Sort(_idsSorted, _indexOfIdSorted);

        // Runtime state carries over from the previous snapshot of this port: counts per backend by stable id.
        _state = previous?._state ?? new ServicePortState();
        _connections = new ConnectionCount[backends.Length];
        for (int i = 0; i < backends.Length; i++)
        {
            int old = previous?.IndexOfStableId(backends[i].StableId) ?? -1;
            _connections[i] = old >= 0 ? previous!._connections[old] : new ConnectionCount();
        }

        if (sessionAffinity == SessionAffinity.ClientIP)
        {
            _affinityTimeoutUnits = AffinityTable.TimeoutUnits(AffinityTimeoutSeconds);
            _affinity = previous?._affinity is { } table && table.Capacity >= affinityCapacity
                && previous.AffinityTimeoutSeconds == AffinityTimeoutSeconds
                ? table
                : new AffinityTable(affinityCapacity);
        }
    }

    public ServiceKey Key => _key;

    public IpAddress Vip => _key.Vip;

    public L4Protocol Protocol => _key.Protocol;

    public ushort Port => _key.Port;

    public string ServiceName { get; }

    /// <summary>The port's name in the service spec (null when it has a single unnamed port).</summary>
    public string? PortName { get; }

    public Scheduler Scheduler => _scheduler;

    /// <summary>Which entrance this is and how it treats new flows (traffic policy, SNAT, source ranges).</summary>
    public FrontendPolicy Policy { get; }

    public SessionAffinity SessionAffinity { get; }

    /// <summary>0 without ClientIP affinity.</summary>
    public int AffinityTimeoutSeconds { get; }

    /// <summary>All backends of this family, terminating ones included, in address order.</summary>
    public ReadOnlySpan<Backend> Backends => _backends;

    /// <summary>Backends that can take new flows (not terminating, weight &gt; 0).</summary>
    public int EligibleCount => _eligible.Length;

    /// <summary>The Maglev table, when the scheduler is Maglev and at least two backends can take new flows.</summary>
    public MaglevTable? Maglev => _maglev;

    public ServicePortCounters Counters => _state.Read();

    /// <summary>Open connections of <see cref="Backends"/>[<paramref name="backendIndex"/>] (picked, not yet released).</summary>
    public int OpenConnections(int backendIndex) => Volatile.Read(ref _connections[backendIndex].Open);

    /// <summary>Live ClientIP affinity entries at <paramref name="nowNanoseconds"/> (walks the table: for <c>ctl</c>, not packets).</summary>
    public int AffinityEntries(long nowNanoseconds)
        => _affinity?.CountLive(AffinityTable.TimeUnits(nowNanoseconds), _affinityTimeoutUnits) ?? 0;

    /// <summary>
    /// Picks the backend for a new flow. <paramref name="flowHash"/> is a well-mixed hash of the flow's 5-tuple (Maglev,
    /// and leastconn for ties, map it onto their range by its high bits); <paramref name="client"/> and
    /// <paramref name="nowNanoseconds"/> (the pipeline clock, never the wall clock) serve ClientIP affinity. False, counted as NoBackend, when no backend takes new flows.
    /// Counts one open connection on the pick (see the type's contract). No allocation, no lock.
    /// </summary>
    public bool TryPickBackend(uint flowHash, in IpAddress client, long nowNanoseconds, out Backend backend)
    {
        if (_eligible.Length == 0)
        {
            Interlocked.Increment(ref _state.NoBackend);
            backend = default;
            return false;
        }

        int index = _affinity is null ? Schedule(flowHash) : ScheduleWithAffinity(flowHash, in client, nowNanoseconds);
        backend = _backends[index];
        Interlocked.Increment(ref _connections[index].Open);
        Interlocked.Increment(ref _state.NewFlows);
        return true;
    }

    /// <summary>A flow counted by <see cref="TryPickBackend"/> ended. Unknown ids (backend since removed) are ignored.</summary>
    public void ReleaseConnection(int backendStableId)
    {
        int index = IndexOfStableId(backendStableId);
        if (index < 0)
        {
            return;
        }

        ref int open = ref _connections[index].Open;
        int seen = Volatile.Read(ref open);
        while (seen > 0)
        {
            int was = Interlocked.CompareExchange(ref open, seen - 1, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }

    /// <summary>
    /// A flow an earlier run balanced to <paramref name="ip"/>:<paramref name="port"/> (restored from conntrack): counts
    /// it as an open connection of that backend, as <see cref="TryPickBackend"/> would have, pins
    /// <paramref name="client"/> to it again under ClientIP affinity (the affinity table itself is not kept across a
    /// restart; a client with a live flow is what it would have said), and returns the backend's stable id now; -1
    /// when no backend has that address any more. Control plane, before the workers start.
    /// </summary>
    public int RestoreConnection(in IpAddress ip, ushort port, in IpAddress client, long nowNanoseconds)
    {
        for (int i = 0; i < _backends.Length; i++)
        {
            if (_backends[i].Ip == ip && _backends[i].Port == port)
            {
                Interlocked.Increment(ref _connections[i].Open);
                if (_affinity is { } table)
                {
                    ulong key = AffinityTable.ClientKey(in client);
                    uint now = AffinityTable.TimeUnits(nowNanoseconds);
                    int slot = table.Find(key, out ulong value);
                    if (slot < 0)
                    {
                        slot = table.FindFree(key, now, _affinityTimeoutUnits, out value);
                    }

                    if (slot >= 0)
                    {
                        table.TryStore(slot, key, value, AffinityTable.Pack(_backends[i].StableId, now));
                    }
                }

                return _backends[i].StableId;
            }
        }

        return -1;
    }

    /// <summary>The index in <see cref="Backends"/> of the backend with this stable id, or -1. Binary search: O(log n).</summary>
    public int IndexOfStableId(int stableId)
    {
        int found = Array.BinarySearch(_idsSorted, stableId);
        return found >= 0 ? _indexOfIdSorted[found] : -1;
    }

    public override string ToString() => $"{ServiceName}{(PortName is null ? "" : $"/{PortName}")} {_key} {_scheduler} {_eligible.Length}/{_backends.Length} backends";

    /// <summary>Same configuration as <paramref name="other"/> (then the table keeps <paramref name="other"/> published).</summary>
    internal bool SameConfiguration(ServicePort other)
        => _key == other._key && ServiceName == other.ServiceName && PortName == other.PortName && _scheduler == other._scheduler
            && SessionAffinity == other.SessionAffinity && AffinityTimeoutSeconds == other.AffinityTimeoutSeconds
            && ReferenceEquals(_maglev, other._maglev) && _backends.AsSpan().SequenceEqual(other._backends) && Policy == other.Policy;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Schedule(uint flowHash)
    {
        int[] eligible = _eligible;
        switch (_scheduler)
        {
            case Scheduler.Maglev:
                return _maglev is { } maglev ? maglev.Lookup(flowHash) : eligible[0];
            case Scheduler.RoundRobin:
                int[] cycle = _roundRobin;
                return cycle[(int)((uint)Interlocked.Increment(ref _state.RoundRobinCursor) % (uint)cycle.Length)];
            case Scheduler.Random:
                return PickRandom();
            default:
                return PickLeastConnections(flowHash);
        }
    }

    /// <summary>Weighted random: a point in [0, total weight) located by binary search over the running sums.</summary>
    private int PickRandom()
    {
        int[] sums = _cumulativeWeights;
        int point = StableHash.Range(ThreadRandom.Next(), sums[^1]);
        int lo = 0;
        int hi = sums.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sums[mid] > point)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return _eligible[lo];
    }

    /// <summary>
    /// Fewest open connections per unit of weight (IPVS wlc: compare c_a x w_b with c_b x w_a, no division). O(n),
    /// as in IPVS. The scan starts at a position given by the flow hash and keeps the first minimum, so ties spread
    /// over the tied backends instead of all going to the first one.
    /// </summary>
    private int PickLeastConnections(uint flowHash)
    {
        int[] eligible = _eligible;
        int n = eligible.Length;
        int k = StableHash.Range(flowHash, n);
        int best = eligible[k];
        long bestOpen = Volatile.Read(ref _connections[best].Open);
        long bestWeight = _backends[best].Weight;
        for (int step = 1; step < n; step++)
        {
            if (++k == n)
            {
                k = 0;
            }

            int candidate = eligible[k];
            long open = Volatile.Read(ref _connections[candidate].Open);
            long weight = _backends[candidate].Weight;
            if (open * bestWeight < bestOpen * weight)
            {
                best = candidate;
                bestOpen = open;
                bestWeight = weight;
            }
        }

        return best;
    }

    /// <summary>
    /// ClientIP: the client's live entry wins if its backend still takes new flows; otherwise the scheduler picks and
    /// the entry is (re)written. Every use refreshes the entry's time. Entries name backends by stable id, so they
    /// survive endpoint changes and are re-picked exactly when their backend was removed or became terminating.
    /// </summary>
    private int ScheduleWithAffinity(uint flowHash, in IpAddress client, long nowNanoseconds)
    {
        AffinityTable table = _affinity!;
        ulong key = AffinityTable.ClientKey(in client);
        uint now = AffinityTable.TimeUnits(nowNanoseconds);
        int slot = table.Find(key, out ulong value);
        if (slot >= 0)
        {
            if (!AffinityTable.IsExpired(value, now, _affinityTimeoutUnits))
            {
                int kept = IndexOfStableId(AffinityTable.StableIdOf(value));
                if (kept >= 0 && _backends[kept].IsEligible)
                {
                    Interlocked.Increment(ref _state.AffinityHits);
                    table.TryStore(slot, key, value, AffinityTable.Pack(_backends[kept].StableId, now));
                    return kept;
                }
            }
            else
            {
                Interlocked.Increment(ref _state.AffinityExpired);
            }
        }
        else
        {
            slot = table.FindFree(key, now, _affinityTimeoutUnits, out value);
        }

        Interlocked.Increment(ref _state.AffinityMisses);
        int index = Schedule(flowHash);
        if (slot < 0)
        {
            Interlocked.Increment(ref _state.AffinityFull);
        }
        else
        {
            table.TryStore(slot, key, value, AffinityTable.Pack(_backends[index].StableId, now));
        }

        return index;
    }
}
