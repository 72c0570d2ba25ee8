using Dataplane.Daemon;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dataplane.Metrics;

/// <summary>
/// <c>/healthz</c>: the process answers and every worker's loop turns (an idle worker still wakes from epoll
/// every 250 ms, so a loop counter that has not moved for <see cref="StallAfter"/> means a stuck thread).
/// <c>/readyz</c>: started, every pod's TAP attached, every configured service programmed, every next hop resolved.
/// </summary>
public sealed class DaemonHealth(NodeDaemon daemon)
{
    public static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly long[] _iterations = new long[daemon.Workers.Count];
    private readonly long[] _movedAt = [.. daemon.Workers.Select(static _ => Environment.TickCount64)];

    public HealthCheckResult Live()
    {
        var stalled = new List<string>();
        lock (_lock)
        {
            long now = Environment.TickCount64;
            for (int w = 0; w < _iterations.Length; w++)
            {
                long iterations = Volatile.Read(ref daemon.Workers[w].Iterations);
                if (iterations != _iterations[w])
                {
                    _iterations[w] = iterations;
                    _movedAt[w] = now;
                }
                else if (now - _movedAt[w] > StallAfter.TotalMilliseconds)
                {
                    stalled.Add($"worker {w}: loop has not turned for {(now - _movedAt[w]) / 1000.0:0.#} s");
                }
            }
        }

        return stalled.Count == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(string.Join("\n", stalled));
    }

    public HealthCheckResult Ready()
    {
        IReadOnlyList<string> reasons = daemon.NotReadyReasons();
        return reasons.Count == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(string.Join("\n", reasons));
    }
}
