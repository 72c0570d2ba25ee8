using System.Globalization;
using System.Runtime.InteropServices;

namespace Dataplane.SideBySide;

/// <summary>Every sample of every metric for one path, and the errors of the measurements that failed.</summary>
internal sealed class PathResult(string key, string title, string label, bool hasVip)
{
    public string Key { get; } = key;

    public string Title { get; } = title;

    /// <summary>Two short lines for the chart's axis.</summary>
    public string Label { get; } = label;

    public bool HasVip { get; } = hasVip;

    public Dictionary<Metric, List<double>> Samples { get; } = [];

    public List<string> Errors { get; } = [];

    public void Add(Metric metric, double value)
    {
        if (!Samples.TryGetValue(metric, out List<double>? list))
        {
            Samples[metric] = list = [];
        }

        list.Add(value);
    }

    /// <summary>The median of the samples (repeats are interleaved across paths, so the median resists a burst of load).</summary>
    public double? Median(Metric metric)
    {
        if (!Samples.TryGetValue(metric, out List<double>? list) || list.Count == 0)
        {
            return null;
        }

        double[] sorted = [.. list.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

/// <summary>One line of the ratio table: the dataplane against a reference path, with the target it should meet.</summary>
internal sealed record Ratio(string Name, string Dataplane, string Reference, double? Value, string Target, bool? Met);

/// <summary>The machine and its load, so a reader can tell a quiet run from a noisy one.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, string Kernel, string DotNet, string Iperf3, string Sockperf, string Trafgen)
{
    public static MachineInfo Describe()
    {
        string[] versions = PackageVersions("iperf3", "sockperf", "netsniff-ng");
        return new(
            Cpu: File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown",
            Cores: Environment.ProcessorCount,
            Kernel: File.ReadAllText("/proc/sys/kernel/osrelease").Trim(),
            DotNet: RuntimeInformation.FrameworkDescription,
            Iperf3: versions[0],
            Sockperf: versions[1],
            Trafgen: versions[2]);
    }

    /// <summary>The 1-, 5- and 15-minute load averages.</summary>
    public static double[] LoadAverage() =>
        [.. File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture))];

    /// <summary>"package version" from dpkg (the tools' own --version flags disagree on format and exit codes).</summary>
    private static string[] PackageVersions(params string[] packages) =>
        [.. packages.Select(p => Shell.Succeeds("dpkg-query", "-W", p) ? Shell.Run("dpkg-query", "-W", "-f=${Package} ${Version}", p) : $"{p} (version unknown)")];
}

/// <summary>Everything one run produced; what the Markdown, the JSON and the chart are made from.</summary>
internal sealed record RunReport(
    DateTime Started,
    DateTime Finished,
    MachineInfo Machine,
    double[] LoadAtStart,
    double[] LoadAtEnd,
    double LoadMax,
    int Seconds,
    int Repeat,
    int ConnectionThreads,
    IReadOnlyList<PathResult> Paths)
{
    public PathResult? Path(string key) => Paths.FirstOrDefault(p => p.Key == key);

    /// <summary>Every dataplane variant the ratios compare, its column title and the ceiling with the same offloads.</summary>
    public static readonly (string Key, string Title, string Ceiling)[] DataplaneColumns =
    [
        ("dataplane", "dataplane, offloads on", "ceiling-vnet"),
        ("dataplane-plain", "dataplane, offloads off", "ceiling-plain"),
        ("dataplane-uring", "io uring, offloads on", "ceiling-vnet"),
        ("dataplane-uring-plain", "io uring, offloads off", "ceiling-plain"),
    ];

    /// <summary>The targets: each dataplane variant against the kernel and against the ceiling with the same offloads.</summary>
    public IReadOnlyList<Ratio> Ratios()
    {
        var ratios = new List<Ratio>();
        foreach ((string dataplane, string ceiling) in DataplaneColumns.Select(static c => (c.Key, c.Ceiling)))
        {
            if (Path(dataplane) is not { } dp)
            {
                continue;
            }

            void Add(string name, Metric metric, string reference, Metric referenceMetric, string target, Func<double, bool>? met)
            {
                double? value = dp.Median(metric) / Path(reference)?.Median(referenceMetric);
                ratios.Add(new Ratio(name, dataplane, reference, value, target, value is { } v && met is not null ? met(v) : null));
            }

            Add("TCP pod→VIP / kernel", Metric.TcpVipGbps, "kernel", Metric.TcpVipGbps, ">= 0.8 (chase 1.0)", v => v >= 0.8);
            Add("TCP pod→pod / kernel", Metric.TcpPodGbps, "kernel", Metric.TcpPodGbps, "", null);
            Add("TCP pod→pod / ceiling", Metric.TcpPodGbps, ceiling, Metric.TcpPodGbps, ">= 0.95", v => v >= 0.95);
            Add("TCP pod→VIP / ceiling pod→pod", Metric.TcpVipGbps, ceiling, Metric.TcpPodGbps, ">= 0.95", v => v >= 0.95);
            Add("64 B UDP pps / ceiling", Metric.UdpMpps, ceiling, Metric.UdpMpps, ">= 0.95", v => v >= 0.95);
            Add("64 B UDP pps / kernel", Metric.UdpMpps, "kernel", Metric.UdpMpps, "", null);
            Add("latency p50 / kernel", Metric.LatencyP50Us, "kernel", Metric.LatencyP50Us, "", null);
            Add("latency p99 / kernel", Metric.LatencyP99Us, "kernel", Metric.LatencyP99Us, "<= 1.5", v => v <= 1.5);
            Add("connections/s / kernel", Metric.ConnectionsPerSecond, "kernel", Metric.ConnectionsPerSecond, "", null);
            Add("TCP ext→NodePort / kernel", Metric.NodePortTcpGbps, "kernel", Metric.NodePortTcpGbps, ">= 1.0", v => v >= 1.0);
            Add("NodePort RTT p99 / kernel", Metric.NodePortLatencyP99Us, "kernel", Metric.NodePortLatencyP99Us, "<= 1.0", v => v <= 1.0);
            Add("NodePort connections/s / kernel", Metric.NodePortConnectionsPerSecond, "kernel", Metric.NodePortConnectionsPerSecond, ">= 1.0", v => v >= 1.0);
            Add("TCP pod→outside / kernel", Metric.EgressTcpGbps, "kernel", Metric.EgressTcpGbps, ">= 1.0", v => v >= 1.0);
            Add("egress RTT p99 / kernel", Metric.EgressLatencyP99Us, "kernel", Metric.EgressLatencyP99Us, "<= 1.0", v => v <= 1.0);
            Add("egress connections/s / kernel", Metric.EgressConnectionsPerSecond, "kernel", Metric.EgressConnectionsPerSecond, ">= 1.0", v => v >= 1.0);
        }

        return ratios;
    }
}
