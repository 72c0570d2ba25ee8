namespace Dataplane.Kubernetes;

/// <summary>
/// How long the last changes took from arrival to programmed: a ring of the most recent 1,024, enough for a p99 that
/// moves with what the node does now rather than with its whole life. Written under <see cref="ClusterSync"/>'s lock.
/// </summary>
internal sealed class ProgramLatency
{
    private readonly long[] _ticks = new long[1024];
    private int _count;
    private int _next;

    public void Add(TimeSpan took)
    {
        _ticks[_next] = took.Ticks;
        _next = (_next + 1) % _ticks.Length;
        _count = Math.Min(_count + 1, _ticks.Length);
    }

    public TimeSpan Percentile(double p)
    {
        if (_count == 0)
        {
            return TimeSpan.Zero;
        }

        long[] sorted = _ticks[.._count];
        Array.Sort(sorted);
        return TimeSpan.FromTicks(sorted[Math.Min(_count - 1, (int)Math.Ceiling(p * _count) - 1)]);
    }
}
