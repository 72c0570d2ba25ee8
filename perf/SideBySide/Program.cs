using System.Globalization;
using System.Security.Cryptography;
using Dataplane.SideBySide;

// The same traffic through three paths in one run: the kernel (bridge + iptables), the TAP I/O ceiling
// (tapcopy) and the dataplane, with and without offloads. Writes perf/results/<date>-sidebyside.{md,json,png}.
const string Usage = """
    usage: sidebyside [--seconds N] [--repeat N] [--threads N] [--only KEY,...] [--out DIR] [--no-build]
           sidebyside --redraw RESULTS.json
      --seconds N   length of each measurement (default 5)
      --repeat N    measure every path N times, interleaved, and report medians (default 1)
      --threads N   connrate client threads (default 4)
      --only KEYS   some of: kernel, ceiling-vnet, ceiling-plain, dataplane, dataplane-plain,
                    dataplane-uring, dataplane-uring-plain, dataplane-scraped (default all; the -uring paths
                    run `dataplane.io: uring`, dataplane-scraped has /metrics fetched every second)
      --out DIR     where the report goes (default perf/results)
      --no-build    skip `make -C native` and the Release build of dataplane
      --redraw F    rewrite the Markdown and the chart of an earlier run from its JSON, measuring nothing
    Needs root. Everything runs in network namespaces named dpperf-*, removed at the end (also on Ctrl-C).
    """;

int seconds = 5, repeat = 1, threads = 4;
string? only = null, outDir = null, redraw = null;
bool build = true;
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--seconds": seconds = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--repeat": repeat = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--threads": threads = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--only": only = Value(); break;
        case "--out": outDir = Value(); break;
        case "--no-build": build = false; break;
        case "--redraw": redraw = Value(); break;
        default: Console.Error.WriteLine(Usage); return args[i] is "-h" or "--help" ? 0 : 2;
    }
}

if (redraw is not null)
{
    Write(ReportWriter.FromJson(File.ReadAllText(redraw)), Path.ChangeExtension(Path.GetFullPath(redraw), null));
    return 0;
}

if (!Preflight.Ready("sidebyside", "namespaces, TAPs, iptables in its own namespaces", Tools.Required))
{
    return 1;
}

var tools = new Tools(RepositoryRoot.Find());
outDir ??= Path.Combine(tools.Root, "perf", "results");
if (build)
{
    Console.WriteLine("building native/ and dataplane (Release)...");
    tools.Build();
}

// Ctrl-C and SIGTERM stop the run; the finally below still tears every namespace and process down.
using var stopSignals = new StopSignals();

string runId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2));
DirectoryInfo workDir = Directory.CreateTempSubdirectory($"dpperf-{runId}-");
var workloads = new Workloads(tools, workDir.FullName, seconds, threads);
List<TestPath> paths =
[
    new KernelPath(runId, tools),
    new CeilingPath(runId, tools, vnetHeader: true),
    new CeilingPath(runId, tools, vnetHeader: false),
    new DataplanePath(runId, tools, workDir.FullName, offloads: true),
    new DataplanePath(runId, tools, workDir.FullName, offloads: false),
    new DataplanePath(runId, tools, workDir.FullName, offloads: true, io: "uring"),
    new DataplanePath(runId, tools, workDir.FullName, offloads: false, io: "uring"),
    new DataplanePath(runId, tools, workDir.FullName, offloads: true, scraped: true),
];
if (only?.Split(',').Except(paths.Select(p => p.Key)).ToList() is { Count: > 0 } unknown)
{
    Console.Error.WriteLine($"sidebyside: no path named {string.Join(", ", unknown)}\n{Usage}");
    return 2;
}

paths.RemoveAll(p => only is not null && !only.Split(',').Contains(p.Key));
var results = paths.ToDictionary(p => p, p => new PathResult(p.Key, p.Title, p.Label, p.HasVip));

// Each measurement: what it is called, and how it runs on one path and files its figures.
var measurements = new (string Name, Func<TestPath, PathResult, string> Run)[]
{
    ("TCP pod->pod", (path, result) =>
    {
        double gbps = workloads.TcpGbps(path, TestPath.ServerIp, TestPath.Iperf.TargetPort);
        result.Add(Metric.TcpPodGbps, gbps);
        return $"{gbps:0.00} Gbit/s";
    }),
    ("TCP pod->VIP", (path, result) =>
    {
        if (!path.HasVip)
        {
            return "no VIP on this path";
        }

        (string ip, int port) = path.Target(TestPath.Iperf);
        double gbps = workloads.TcpGbps(path, ip, port);
        result.Add(Metric.TcpVipGbps, gbps);
        return $"{gbps:0.00} Gbit/s";
    }),
    ("64 B UDP", (path, result) =>
    {
        (double received, double offered) = workloads.UdpMpps(path);
        result.Add(Metric.UdpMpps, received);
        result.Add(Metric.UdpOfferedMpps, offered);
        return $"{received:0.000} Mpps received of {offered:0.000} offered";
    }),
    ("TCP RTT", (path, result) =>
    {
        (string ip, int port) = path.Target(TestPath.Sockperf);
        (double p50, double p99) = workloads.LatencyUs(path, ip, port);
        result.Add(Metric.LatencyP50Us, p50);
        result.Add(Metric.LatencyP99Us, p99);
        return $"p50 {p50:0.0} µs, p99 {p99:0.0} µs";
    }),
    ("connections", (path, result) =>
    {
        (string ip, int port) = path.Target(TestPath.ConnRate);
        double rate = workloads.ConnectionsPerSecond(path, ip, port);
        result.Add(Metric.ConnectionsPerSecond, rate);
        return $"{rate:#,0}/s";
    }),

    // Outside the cluster: an external client to a NodePort (SNATed to the node, as externalTrafficPolicy: Cluster),
    // and the client pod to a server outside (masqueraded). The ceiling has neither.
    ("TCP ext->NodePort", (path, result) => !path.HasOutside ? "no uplink on this path" : Record(result, Metric.NodePortTcpGbps,
        workloads.TcpGbps(path, TestPath.NodeIp, TestPath.NodePortOf(TestPath.Iperf), path.OutsideNs), "0.00", " Gbit/s")),
    ("RTT ext->NodePort", (path, result) =>
    {
        if (!path.HasOutside)
        {
            return "no uplink on this path";
        }

        (double p50, double p99) = workloads.LatencyUs(path, TestPath.NodeIp, TestPath.NodePortOf(TestPath.Sockperf), path.OutsideNs);
        result.Add(Metric.NodePortLatencyP50Us, p50);
        result.Add(Metric.NodePortLatencyP99Us, p99);
        return $"p50 {p50:0.0} µs, p99 {p99:0.0} µs";
    }),
    ("conn ext->NodePort", (path, result) => !path.HasOutside ? "no uplink on this path" : Record(result, Metric.NodePortConnectionsPerSecond,
        workloads.ConnectionsPerSecond(path, TestPath.NodeIp, TestPath.NodePortOf(TestPath.ConnRate), path.OutsideNs), "#,0", "/s")),
    ("TCP pod->outside", (path, result) => !path.HasOutside ? "no uplink on this path" : Record(result, Metric.EgressTcpGbps,
        workloads.TcpGbps(path, TestPath.OutsideIp, TestPath.Iperf.TargetPort), "0.00", " Gbit/s")),
    ("RTT pod->outside", (path, result) =>
    {
        if (!path.HasOutside)
        {
            return "no uplink on this path";
        }

        (double p50, double p99) = workloads.LatencyUs(path, TestPath.OutsideIp, TestPath.Sockperf.TargetPort);
        result.Add(Metric.EgressLatencyP50Us, p50);
        result.Add(Metric.EgressLatencyP99Us, p99);
        return $"p50 {p50:0.0} µs, p99 {p99:0.0} µs";
    }),
    ("conn pod->outside", (path, result) => !path.HasOutside ? "no uplink on this path" : Record(result, Metric.EgressConnectionsPerSecond,
        workloads.ConnectionsPerSecond(path, TestPath.OutsideIp, TestPath.ConnRate.TargetPort), "#,0", "/s")),
};

static string Record(PathResult result, Metric metric, double value, string format, string unit)
{
    result.Add(metric, value);
    return value.ToString(format, CultureInfo.InvariantCulture) + unit;
}

DateTime started = DateTime.UtcNow;
double[] loadAtStart = MachineInfo.LoadAverage();
double loadMax = loadAtStart[0];
MachineInfo machine = MachineInfo.Describe();
Console.WriteLine($"load average {string.Join(" ", loadAtStart)}; {paths.Count} paths, {seconds} s per measurement, {repeat} repeat(s)");
var running = new List<TestPath>();
try
{
    foreach (TestPath path in paths)
    {
        Console.WriteLine($"setting up {path.Title} ({path.Prefix}-*)");
        running.Add(path);
        try
        {
            path.Start();
        }
        catch (InvalidOperationException ex)
        {
            results[path].Errors.Add($"setup: {ex.Message}");
            Console.WriteLine($"  failed: {ex.Message}");
        }
    }

    List<TestPath> ready = [.. paths.Where(p => results[p].Errors.Count == 0)];
    for (int r = 1; r <= repeat; r++)
    {
        foreach ((string name, Func<TestPath, PathResult, string> run) in measurements)
        {
            foreach (TestPath path in ready)
            {
                string line;
                try
                {
                    line = run(path, results[path]);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    results[path].Errors.Add($"{name}: {ex.Message}");
                    line = $"failed: {Shell.Tail(ex.Message, 200)}";
                }

                loadMax = Math.Max(loadMax, MachineInfo.LoadAverage()[0]);
                Console.WriteLine($"[{r}/{repeat}] {name,-13} {path.Title,-38} {line}");
            }
        }
    }
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("interrupted: cleaning up");
    return 130;
}
finally
{
    foreach (TestPath path in Enumerable.Reverse(running))
    {
        path.Dispose();
    }

    workDir.Delete(recursive: true);
}

var report = new RunReport(started, DateTime.UtcNow, machine, loadAtStart, MachineInfo.LoadAverage(), loadMax, seconds, repeat, threads,
    [.. paths.Select(p => results[p])]);
Directory.CreateDirectory(outDir);
Write(report, Path.Combine(outDir, $"{started:yyyy-MM-dd-HHmm}-sidebyside"));
return 0;

// The report three ways: Markdown on the console and in STEM.md (with the chart), JSON, and the chart as STEM.png.
static void Write(RunReport report, string stem)
{
    Console.WriteLine();
    Console.WriteLine(ReportWriter.Markdown(report));
    File.WriteAllText(stem + ".md", ReportWriter.Markdown(report, chart: Path.GetFileName(stem) + ".png"));
    File.WriteAllText(stem + ".json", ReportWriter.Json(report));
    Chart.Save(report, stem + ".png");
    Console.WriteLine($"wrote {stem}.md, .json and .png");
}
