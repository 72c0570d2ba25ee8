namespace Dataplane.Conntrack;

/// <summary>
/// One worker's share of conntrack expiry: a stripe of the table's index buckets that only this worker sweeps,
/// with its own cursor. The sweep reads without the table's lock and takes it only to remove an entry it found
/// expired, so workers with nothing to expire never touch the lock or a shared cursor. Stripes of
/// <c>workers</c> sweepers cover the index exactly once; every entry is freed by the one stripe holding its
/// original-direction slot. Not thread-safe: one sweeper per worker.
/// </summary>
public sealed class ConntrackSweeper
{
    private readonly ConntrackTable _table;
    private int _cursor;

    /// <param name="table">The shared table.</param>
    /// <param name="worker">This worker's number, from 0.</param>
    /// <param name="workers">How many workers share the table (and split its index).</param>
    public ConntrackSweeper(ConntrackTable table, int worker = 0, int workers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(worker);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(worker, workers);
        _table = table;
        int buckets = table.BucketCount;
        FirstBucket = (int)((long)buckets * worker / workers);
        BucketCount = (int)((long)buckets * (worker + 1) / workers) - FirstBucket;
    }

    /// <summary>First index bucket of this worker's stripe.</summary>
    public int FirstBucket { get; }

    /// <summary>Buckets in this worker's stripe (0 when there are more workers than buckets).</summary>
    public int BucketCount { get; }

    /// <summary>Sweeps that found an expired entry and so took the table's lock; a sweep that found none took no lock.</summary>
    public long LockedSweeps { get; private set; }

    /// <summary>
    /// Frees expired entries in the next <paramref name="buckets"/> buckets of the stripe (the cursor wraps
    /// around it). Workers call it once per batch with a few buckets, and with more when idle. Returns how many.
    /// </summary>
    public int Sweep(long now, int buckets)
    {
        if (BucketCount == 0)
        {
            return 0;
        }

        int removed = _table.SweepStripe(now, FirstBucket, BucketCount, ref _cursor, buckets, out bool locked);
        if (locked)
        {
            LockedSweeps++;
        }

        return removed;
    }
}
