using System.Diagnostics;

namespace Dataplane.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline, instead of sleeping a fixed time and hoping.</summary>
public static class Poll
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Re-checks <paramref name="condition"/> until it holds; throws with <paramref name="what"/> at the deadline.</summary>
    public static void Until(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}");
            }

            // A short pause between checks (each may spawn `ip`); the deadline, not this, bounds the wait.
            Thread.Sleep(s_interval);
        }
    }

    /// <summary>Like <see cref="Until"/>, returning the first non-null value <paramref name="probe"/> gives.</summary>
    public static T UntilValue<T>(Func<T?> probe, TimeSpan timeout, string what)
        where T : class
    {
        T? value = null;
        Until(() => (value = probe()) is not null, timeout, what);
        return value!;
    }
}
