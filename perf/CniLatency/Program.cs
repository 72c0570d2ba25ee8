using Dataplane.CniDriver;
using System.Globalization;
using System.Security.Cryptography;
using Dataplane.CniLatency;

// CNI ADD/DEL latency side by side: Debian's bridge plugin (the kernel baseline) and dataplane-cni against our daemon,
// both with host-local, both driven through libcni by tests/cni-driver. Writes perf/results/<date>-cni-latency.{md,json}.
const string Usage = """
    usage: cnilatency [--count N] [--only bridge,dataplane] [--out DIR] [--no-build]
      --count N     pods per measurement (default 100): N sequential ADDs then DELs, and N ADDs at once
      --only KEYS   bridge, dataplane (default both)
      --out DIR     where the report goes (default perf/results)
      --no-build    skip the Release build of the dataplane CLI (the plugin is always published)
    Needs root. Everything runs in network namespaces named dpt-cl*, removed at the end (also on Ctrl-C).
    """;

int count = 100;
string? only = null, outDir = null;
bool build = true;
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--count": count = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--only": only = Value(); break;
        case "--out": outDir = Value(); break;
        case "--no-build": build = false; break;
        default: Console.Error.WriteLine(Usage); return args[i] is "-h" or "--help" ? 0 : 2;
    }
}

if (count is < 1 or > 230)
{
    Console.Error.WriteLine("cnilatency: --count must be 1..230 (host-local's range is 10.244.1.20-254)");
    return 2;
}

if (!Preflight.Ready("cnilatency", "namespaces, CNI plugins, the daemon's TAPs", Tools.Required))
{
    return 1;
}

var tools = new Tools(RepositoryRoot.Find());
outDir ??= Path.Combine(tools.Root, "perf", "results");

// Ctrl-C and SIGTERM stop the run; the finally below still tears every namespace and process down.
using var stopSignals = new StopSignals();

string runId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2));
DirectoryInfo workDir = Directory.CreateTempSubdirectory($"dpt-cl{runId}-");
DateTime started = DateTime.UtcNow;
double[] loadAtStart = Machine.LoadAverage();
double loadMax = loadAtStart[0];
var results = new List<PathResult>();
var paths = new List<CniPath>();
try
{
    Console.WriteLine("building tests/cni-driver (libcni)...");
    string driver = tools.BuildDriver(workDir.FullName);
    paths.Add(new BridgePath(runId, workDir.FullName, driver));
    paths.Add(new DataplanePath(runId, workDir.FullName, driver, tools, build));
    if (only?.Split(',').Except(paths.Select(p => p.Key)).ToList() is { Count: > 0 } unknown)
    {
        Console.Error.WriteLine($"cnilatency: no path named {string.Join(", ", unknown)}\n{Usage}");
        return 2;
    }

    paths.RemoveAll(p => only is not null && !only.Split(',').Contains(p.Key));
    results.AddRange(paths.Select(p => new PathResult(p.Key, p.Title)));
    var ready = new List<(CniPath Path, PathResult Result)>();
    foreach ((CniPath path, PathResult result) in paths.Zip(results))
    {
        Console.WriteLine($"setting up {path.Title} ({path.Prefix}*)");
        try
        {
            path.Start();
            ready.Add((path, result));
        }
        catch (InvalidOperationException ex)
        {
            result.Errors.Add($"setup: {ex.Message}");
            Console.WriteLine($"  failed: {Shell.Tail(ex.Message, 300)}");
        }
    }

    // Interleaved: one measurement on every path, then the next, so a burst of load hits both alike.
    var measurements = new (string Name, string Phase, int Parallel, bool ReadyPing, Action<PathResult, BenchReport> File)[]
    {
        ($"{count} sequential", "s", 1, false, (r, b) => r.Sequential = b),
        ($"{count} at once", "p", count, true, (r, b) => r.AtOnce = b),
    };
    foreach ((string name, string phase, int parallel, bool readyPing, Action<PathResult, BenchReport> file) in measurements)
    {
        foreach ((CniPath path, PathResult result) in ready)
        {
            try
            {
                BenchReport bench = path.Bench(phase, count, parallel, readyPing);
                file(result, bench);
                result.Errors.AddRange(bench.Errors.Take(5).Select(e => $"{name}: {e}"));
                if (bench.DuplicateIps > 0)
                {
                    result.Errors.Add($"{name}: {bench.DuplicateIps} duplicate addresses");
                }

                Console.WriteLine($"{name,-15} {path.Title,-30} ADD p50 {bench.Add.P50Ms:0.0} ms p90 {bench.Add.P90Ms:0.0} ms, DEL p50 {bench.Del.P50Ms:0.0} ms p90 {bench.Del.P90Ms:0.0} ms" +
                    (bench.Ready is { } r ? $", all pinging after {r.AllMs / 1000:0.00} s" : "") +
                    (bench.Watch is { } w ? $", running pod lost {w.Lost}/{w.Sent}" : "") +
                    (bench.Errors.Count > 0 ? $", {bench.Errors.Count} errors" : ""));
            }
            catch (InvalidOperationException ex)
            {
                result.Errors.Add($"{name}: {ex.Message}");
                Console.WriteLine($"{name,-15} {path.Title,-30} failed: {Shell.Tail(ex.Message, 200)}");
            }

            loadMax = Math.Max(loadMax, Machine.LoadAverage()[0]);
        }
    }
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("cnilatency: interrupted; cleaning up");
    return 130;
}
finally
{
    Console.WriteLine("cleaning up");
    foreach (CniPath path in Enumerable.Reverse(paths))
    {
        path.Dispose();
    }

    Shell.Cleanup("chmod", "-R", "u+w", workDir.FullName);
    workDir.Delete(recursive: true);
}

var report = new RunReport(started, DateTime.UtcNow, Machine.Describe(), loadAtStart, Machine.LoadAverage(), loadMax, count, results);
ResultFiles.Write(outDir, started, "cni-latency", Report.Markdown(report), Report.Json(report));
return results.Any(r => r.Errors.Count > 0) ? 1 : 0;
