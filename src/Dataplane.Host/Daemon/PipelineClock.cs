using System.Diagnostics;

namespace Dataplane.Daemon;

/// <summary>
/// The daemon's pipeline clock: CLOCK_MONOTONIC in nanoseconds (what <see cref="Stopwatch.GetTimestamp"/> reads on
/// Linux). Flow expiry, MAC aging, the ICMP error bucket and next-hop solicitation compare these times, so a step of
/// the wall clock (NTP, an operator's `date -s`) must not move them: with wall-clock time a step forward of an hour
/// expired every flow at once. Where a time is shown to people or written to a pcap it is converted with
/// <see cref="ToUnixNanoseconds"/>, by one offset taken when the clock is first used; a later wall-clock step
/// shifts nothing already shown, and shown times stay in the order the packets had. (Replay keeps the pcap's clock.)
/// </summary>
public static class PipelineClock
{
    private const long NanosecondsPerSecond = 1_000_000_000;

    /// <summary>Unix time minus monotonic time, in ns: taken once, so conversions stay consistent for the process's life.</summary>
    private static readonly long s_unixOffset = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100 - Now();

    /// <summary>Now, in ns of CLOCK_MONOTONIC (since boot, not counting suspend).</summary>
    public static long Now()
    {
        long ticks = Stopwatch.GetTimestamp();
        // Linux reports nanoseconds already (Frequency is 1e9); other clocks are scaled without overflowing.
        return Stopwatch.Frequency == NanosecondsPerSecond
            ? ticks
            : (long)((Int128)ticks * NanosecondsPerSecond / Stopwatch.Frequency);
    }

    /// <summary>A pipeline time as ns since the Unix epoch, for pcap records and anything a person reads.</summary>
    public static long ToUnixNanoseconds(long timestamp) => timestamp + s_unixOffset;
}
