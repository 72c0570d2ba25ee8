using System.Text.Json.Serialization;

namespace Dataplane.CniDriver;

// `cni-driver bench`'s JSON report (main.go, next to this file), read by the tests (tests/Dataplane.Tests) and by
// perf/CniLatency: both projects compile this one file.

/// <summary>`cni-driver bench`'s report: latencies of every ADD and DEL, readiness, a running pod's ping loss.</summary>
public sealed record BenchReport
{
    [JsonPropertyName("network")] public string Network { get; init; } = "";

    [JsonPropertyName("plugins")] public IReadOnlyList<string> Plugins { get; init; } = [];

    [JsonPropertyName("count")] public int Count { get; init; }

    [JsonPropertyName("parallel")] public int Parallel { get; init; }

    [JsonPropertyName("add")] public BenchOpStats Add { get; init; } = new();

    [JsonPropertyName("del")] public BenchOpStats Del { get; init; } = new();

    [JsonPropertyName("ready")] public BenchReady? Ready { get; init; }

    [JsonPropertyName("watch")] public BenchWatch? Watch { get; init; }

    [JsonPropertyName("ips")] public IReadOnlyList<string> Ips { get; init; } = [];

    [JsonPropertyName("errors")] public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>The driver's exit code (not in the JSON).</summary>
    [JsonIgnore] public int ExitCode { get; init; }

    /// <summary>What the driver wrote to stderr (not in the JSON).</summary>
    [JsonIgnore] public string StdErr { get; init; } = "";

    [JsonIgnore] public int DuplicateIps => Ips.Count - Ips.Distinct().Count();

    /// <summary>For assertion and error messages.</summary>
    public string Summary() =>
        $"exit {ExitCode}; add {Add}; del {Del}; ready {Ready}; watch {Watch}; {Ips.Count} IPs; errors: {string.Join(" | ", Errors.Take(5))} {StdErr.Trim()}";
}

/// <summary>One operation's calls: how many succeeded, and their latency.</summary>
public sealed record BenchOpStats
{
    [JsonPropertyName("ok")] public int Ok { get; init; }

    [JsonPropertyName("failed")] public int Failed { get; init; }

    [JsonPropertyName("p50_ms")] public double P50Ms { get; init; }

    [JsonPropertyName("p90_ms")] public double P90Ms { get; init; }

    [JsonPropertyName("p99_ms")] public double P99Ms { get; init; }

    [JsonPropertyName("max_ms")] public double MaxMs { get; init; }

    [JsonPropertyName("mean_ms")] public double MeanMs { get; init; }

    [JsonPropertyName("wall_ms")] public double WallMs { get; init; }
}

/// <summary>With --ready-ping: how long until each pod got an echo reply from its gateway.</summary>
public sealed record BenchReady
{
    [JsonPropertyName("target")] public string? Target { get; init; }

    [JsonPropertyName("ok")] public int Ok { get; init; }

    [JsonPropertyName("failed")] public int Failed { get; init; }

    [JsonPropertyName("p50_ms")] public double P50Ms { get; init; }

    [JsonPropertyName("p90_ms")] public double P90Ms { get; init; }

    [JsonPropertyName("max_ms")] public double MaxMs { get; init; }

    /// <summary>From the first ADD starting until the last pod answered.</summary>
    [JsonPropertyName("all_ms")] public double AllMs { get; init; }

    [JsonPropertyName("after_add_p50_ms")] public double AfterAddP50Ms { get; init; }
}

/// <summary>With --watch-netns/--watch-ip: a running pod's pings during the bench.</summary>
public sealed record BenchWatch
{
    [JsonPropertyName("from")] public string From { get; init; } = "";

    [JsonPropertyName("to")] public string To { get; init; } = "";

    [JsonPropertyName("interval_ms")] public double IntervalMs { get; init; }

    [JsonPropertyName("sent")] public int Sent { get; init; }

    [JsonPropertyName("received")] public int Received { get; init; }

    [JsonPropertyName("lost")] public int Lost { get; init; }

    [JsonPropertyName("max_rtt_ms")] public double MaxRttMs { get; init; }

    [JsonPropertyName("error")] public string? Error { get; init; }
}
