namespace Dataplane.Pipeline;

/// <summary>
/// A token bucket on the pipeline clock that all workers share, lock-free: one per node, so a limit configured
/// per node (icmpErrorsPerSecond) is not multiplied by the worker count. Refills by whole tokens: the worker that
/// wins the compare-and-swap on the refill time adds what the elapsed time earned (one worker alone computes
/// exactly what a private bucket would); tokens are taken with a compare-and-swap loop that never goes below
/// zero. A rate or burst of 0 turns it off: every take fails.
/// </summary>
public sealed class TokenBucket
{
    private const long NotStarted = long.MinValue;

    private readonly long _tokensPerSecond;
    private readonly long _burst;
    private long _tokens;
    private long _lastRefill = NotStarted;

    public TokenBucket(long tokensPerSecond, long burst)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokensPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegative(burst);
        _tokensPerSecond = burst == 0 ? 0 : tokensPerSecond;
        _burst = tokensPerSecond == 0 ? 0 : burst;
        _tokens = _burst;
    }

    /// <summary>Takes a token at <paramref name="now"/> (ns). False when the bucket is empty.</summary>
    public bool TryTake(long now)
    {
        long last = Volatile.Read(ref _lastRefill);
        if (last == NotStarted)
        {
            // The first take starts the clock; a later start by another worker is fine, it earns nothing.
            long started = Interlocked.CompareExchange(ref _lastRefill, now, NotStarted);
            last = started == NotStarted ? now : started;
        }

        long elapsed = now - last;
        if (elapsed > 0)
        {
            long earned = elapsed * _tokensPerSecond / 1_000_000_000L;
            if (earned > 0 && Interlocked.CompareExchange(ref _lastRefill, now, last) == last)
            {
                long tokens = Volatile.Read(ref _tokens);
                while (true)
                {
                    long refilled = Math.Min(_burst, tokens + earned);
                    long seen = Interlocked.CompareExchange(ref _tokens, refilled, tokens);
                    if (seen == tokens)
                    {
                        break;
                    }

                    tokens = seen;
                }
            }
        }

        long available = Volatile.Read(ref _tokens);
        while (available > 0)
        {
            long seen = Interlocked.CompareExchange(ref _tokens, available - 1, available);
            if (seen == available)
            {
                return true;
            }

            available = seen;
        }

        return false;
    }
}
