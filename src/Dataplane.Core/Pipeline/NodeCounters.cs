namespace Dataplane.Pipeline;

/// <summary>
/// One stage's counters in one worker: packets and bytes it received, and drops per reason. Plain fields
/// written by the worker alone; readers on other threads may see a slightly stale value, never a torn one
/// (64-bit aligned stores are atomic on x64 and arm64).
/// </summary>
public sealed class NodeCounters(int dropReasons, int events)
{
    public long Packets;

    public long Bytes;

    public long[] Drops { get; } = new long[dropReasons];

    public long[] Events { get; } = new long[events];

    public long TotalDrops
    {
        get
        {
            long total = 0;
            foreach (long d in Drops)
            {
                total += d;
            }

            return total;
        }
    }
}
