namespace Dataplane.Conntrack;

/// <summary>What <see cref="PodFlowLimits.Admit"/> says about a pod's new flow.</summary>
public enum PodAdmission : byte
{
    Admitted,

    /// <summary>The pod holds its <c>conntrack.perPod.maxEntries</c> live entries already.</summary>
    TooManyEntries,

    /// <summary>The pod used up its <c>conntrack.perPod.newFlowsPerSecond</c> (and burst).</summary>
    TooManyNewFlows,
}

/// <summary>
/// Each pod's fair share of conntrack (<c>conntrack.perPod</c>): a cap on the live entries a pod's flows hold and a
/// token bucket of new flows per second, so that one pod flooding new flows cannot take the table from the others.
/// A flow is charged to the pod whose packet opened it (<see cref="FlowEntry.Owner"/>) from its insert until its
/// removal. Fixed capacity: one slot per port id, sized once from the node's port table.
/// <para>
/// Only the table calls it, under its write lock, which every new and every ending flow takes anyway: so plain
/// fields, no atomics, and nothing at all on the path of packets of known flows.
/// </para>
/// </summary>
public sealed class PodFlowLimits
{
    /// <summary>
    /// Buckets the table sweeps when a pod is at its cap before refusing it. An entry counts until it is removed, and
    /// the sweepers may reach an expired one long after its deadline (a pass of a large table takes seconds): a pod
    /// at its cap frees its own dead entries faster this way, a few cache lines per refused flow.
    /// </summary>
    public const int SweepBucketsAtLimit = 8;

    private const long NotStarted = long.MinValue;

    private readonly int _maxEntries;
    private readonly long _newFlowsPerSecond;
    private readonly long _burst;
    private readonly long _fullRefillNanoseconds;

    /// <summary>Live entries per owner (index = owner, 0 unused).</summary>
    private readonly int[] _entries;

    private readonly long[] _tokens;
    private readonly long[] _lastRefill;

    /// <param name="ports">Port ids a flow's owner can come from (the port table's capacity).</param>
    /// <param name="maxEntries">Live entries one pod may hold.</param>
    /// <param name="newFlowsPerSecond">New flows one pod may open per second, sustained.</param>
    /// <param name="burst">New flows one pod may open at once before the rate applies.</param>
    public PodFlowLimits(int ports, int maxEntries, int newFlowsPerSecond, int burst)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ports);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEntries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(newFlowsPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burst);
        _maxEntries = maxEntries;
        _newFlowsPerSecond = newFlowsPerSecond;
        _burst = burst;
        _fullRefillNanoseconds = ((long)burst * 1_000_000_000L / newFlowsPerSecond) + 1;
        _entries = new int[ports + 1];
        _tokens = new long[ports + 1];
        _lastRefill = new long[ports + 1];
        Array.Fill(_lastRefill, NotStarted);
    }

    public int MaxEntries => _maxEntries;

    /// <summary>The owner a flow opened by a packet from pod port <paramref name="port"/> is charged to; 0 is no one.</summary>
    public static ushort OwnerOf(ushort port) => (ushort)(port + 1);

    /// <summary>Live entries charged to <paramref name="owner"/> (a moment's view, for `ctl` and tests).</summary>
    public int Entries(ushort owner) => IsTracked(owner) ? Volatile.Read(ref _entries[owner]) : 0;

    /// <summary>
    /// Whether <paramref name="owner"/> may open one more flow at <paramref name="now"/> (ns); takes a token when it
    /// may. Owner 0 (no pod) always may. Caller holds the table's write lock.
    /// </summary>
    internal PodAdmission Admit(ushort owner, long now)
    {
        if (!IsTracked(owner))
        {
            return PodAdmission.Admitted;
        }

        if (_entries[owner] >= _maxEntries)
        {
            return PodAdmission.TooManyEntries;
        }

        // Refilled by whole tokens, and the clock moves on only by the time those tokens took, so no fraction of a
        // token is lost however often a pod asks (Pipeline.TokenBucket's scheme, without its atomics: we hold a lock).
        long last = _lastRefill[owner];
        if (last == NotStarted)
        {
            _tokens[owner] = _burst;
            _lastRefill[owner] = now;
        }
        else if (now > last)
        {
            // Capped at the time a full refill takes, so elapsed * rate cannot overflow after a long idle spell.
            long elapsed = Math.Min(now - last, _fullRefillNanoseconds);
            long earned = elapsed * _newFlowsPerSecond / 1_000_000_000L;
            if (_tokens[owner] + earned >= _burst)
            {
                _tokens[owner] = _burst;
                _lastRefill[owner] = now;
            }
            else if (earned > 0)
            {
                _tokens[owner] += earned;
                _lastRefill[owner] = last + (earned * 1_000_000_000L / _newFlowsPerSecond);
            }
        }

        if (_tokens[owner] == 0)
        {
            return PodAdmission.TooManyNewFlows;
        }

        _tokens[owner]--;
        return PodAdmission.Admitted;
    }

    /// <summary>A flow of <paramref name="owner"/> was inserted. Caller holds the table's write lock.</summary>
    internal void Charge(ushort owner)
    {
        if (IsTracked(owner))
        {
            _entries[owner]++;
        }
    }

    /// <summary>
    /// A flow of <paramref name="owner"/> left the table. Caller holds the table's write lock. Never below zero: an
    /// entry this instance did not charge (one kept across a restart) must not wrap a pod's count.
    /// </summary>
    internal void Release(ushort owner)
    {
        if (IsTracked(owner) && _entries[owner] > 0)
        {
            _entries[owner]--;
        }
    }

    private bool IsTracked(ushort owner) => owner != 0 && owner < _entries.Length;
}
