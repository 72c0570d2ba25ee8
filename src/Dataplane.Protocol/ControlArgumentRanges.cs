using System.Globalization;

namespace Dataplane.Protocol;

/// <summary>
/// The allowed range of every numeric argument of a <see cref="ControlRequest"/>. Both ends check: `ctl` before
/// sending (so NaN or 1e300 never reaches the JSON writer), the daemon before running (any client may connect).
/// A problem is one line naming the argument, its value and the range.
/// </summary>
public static class ControlArgumentRanges
{
    /// <summary>trace: packets traced at most (each worker keeps this many trace records).</summary>
    public const int MaxTracePackets = 1000;

    /// <summary>trace: an hour; a trace holds one control connection and arms every worker's tracer while it waits.</summary>
    public const double MaxTraceSeconds = 3600;

    /// <summary>capture: a day; a capture is a live stream that holds its port for that long.</summary>
    public const double MaxCaptureSeconds = 86400;

    /// <summary>
    /// conntrack and flows: flows in one answer. The answer is built in memory, so this bounds what one request
    /// costs the daemon whatever the table's size; `--after` pages through the rest.
    /// </summary>
    public const int MaxListedFlows = 10_000;

    /// <summary>The first problem with the request's numbers, or null when all are in range.</summary>
    public static string? Problem(ControlRequest request)
    {
        switch (request.Command)
        {
            case "conntrack" or "flows":
                return IntProblem("port", request.Port, 0, 65535)
                    ?? IntProblem(request.Command == "flows" ? "count" : "limit", request.Count, 1, MaxListedFlows)
                    ?? IntProblem("after", request.After, 0, int.MaxValue);
            case "trace":
                return IntProblem("count", request.Count, 1, MaxTracePackets)
                    ?? SecondsProblem(request.Seconds, MaxTraceSeconds);
            case "capture":
                return IntProblem("count", request.Count, 1, int.MaxValue)
                    ?? SecondsProblem(request.Seconds, MaxCaptureSeconds);
            default:
                return null;
        }
    }

    private static string? IntProblem(string name, int? value, int min, int max) =>
        value is { } v && (v < min || v > max)
            ? string.Create(CultureInfo.InvariantCulture, $"{name} {v} is out of range: it must be {min}..{max}")
            : null;

    /// <summary>Written as "not in range" so that NaN, which fails every comparison, is out of range too.</summary>
    private static string? SecondsProblem(double? value, double max) =>
        value is { } v && !(v > 0 && v <= max)
            ? string.Create(CultureInfo.InvariantCulture, $"seconds {v} is out of range: it must be more than 0 and at most {max}")
            : null;
}
