namespace Dataplane.Kubernetes;

/// <summary>
/// How long an informer waits before its next attempt after consecutive failures: the initial wait doubling per
/// failure up to a cap, each wait shortened by a random 0-20 % so that every node's informers, cut off by the same
/// API server restart, do not come back in the same millisecond.
/// </summary>
internal sealed class ReconnectBackoff
{
    // A failure this long after the previous one starts a new streak (client-go's backoff manager resets after
    // 2 minutes without backoff), so a watch that ran for an hour and then dropped reconnects at once.
    private static readonly TimeSpan s_quietReset = TimeSpan.FromMinutes(2);

    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly TimeProvider _time;
    private int _failures;
    private long _lastFailure;

    public ReconnectBackoff(TimeSpan initial, TimeSpan max, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial);
        _initial = initial;
        _max = max;
        _time = time;
    }

    /// <summary>The wait before the next attempt, counting one more failure.</summary>
    public TimeSpan Next()
    {
        long now = _time.GetTimestamp();
        if (_failures > 0 && _time.GetElapsedTime(_lastFailure, now) > s_quietReset)
        {
            _failures = 0;
        }

        _lastFailure = now;
        // 2^30 times any sensible initial wait is past any sensible cap; stop doubling before the double overflows.
        double doubled = _initial.TotalMilliseconds * Math.Pow(2, Math.Min(_failures, 30));
        _failures++;
        double capped = Math.Min(doubled, _max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (1 - 0.2 * Random.Shared.NextDouble()));
    }

    /// <summary>After a success: the next failure waits the initial time again.</summary>
    public void Reset() => _failures = 0;
}
