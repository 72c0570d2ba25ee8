using Dataplane.CniDriver;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Dataplane.CniLatency;

/// <summary>What one path gave: the sequential bench, the all-at-once bench, and what failed.</summary>
internal sealed class PathResult(string key, string title)
{
    public string Key { get; } = key;

    public string Title { get; } = title;

    public BenchReport? Sequential { get; set; }

    public BenchReport? AtOnce { get; set; }

    public List<string> Errors { get; } = [];
}

internal sealed record Machine(string Cpu, int Cores, string Kernel, string DotNet, string Plugins, string Libcni)
{
    public static Machine Describe() => new(
        Cpu: File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown",
        Cores: Environment.ProcessorCount,
        Kernel: File.ReadAllText("/proc/sys/kernel/osrelease").Trim(),
        DotNet: RuntimeInformation.FrameworkDescription,
        Plugins: PackageVersion("containernetworking-plugins"),
        Libcni: PackageVersion("golang-github-appc-cni-dev"));

    public static double[] LoadAverage() =>
        [.. File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture))];

    private static string PackageVersion(string package) =>
        Shell.Capture(["dpkg-query", "-W", "-f=${Package} ${Version}", package]) is (0, var version, _) ? version : $"{package} (version unknown)";
}

internal sealed record RunReport(DateTime Started, DateTime Finished, Machine Machine, double[] LoadAtStart, double[] LoadAtEnd, double LoadMax,
    int Count, IReadOnlyList<PathResult> Paths);

internal static class Report
{
    public static string Json(RunReport report) => JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });

    public static string Markdown(RunReport r)
    {
        var md = new StringBuilder();
        string n = r.Count.ToString(CultureInfo.InvariantCulture);
        md.AppendLine(CultureInfo.InvariantCulture, $"# CNI latency: bridge vs dataplane-cni ({r.Started:yyyy-MM-dd HH:mm} UTC)");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"| path | ADD p50 ms | ADD p90 ms | DEL p50 ms | DEL p90 ms | {n} at once: ADDs done s | {n} at once: all ping the gateway s | at once: ADD p50 / p90 ms | at once: DELs done s | running pod's ping loss (sequential; at once) |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (PathResult p in r.Paths)
        {
            BenchReport? s = p.Sequential, a = p.AtOnce;
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {p.Title} | {Ms(s?.Add.P50Ms)} | {Ms(s?.Add.P90Ms)} | {Ms(s?.Del.P50Ms)} | {Ms(s?.Del.P90Ms)} | {Sec(a?.Add.WallMs)} | {Sec(a?.Ready?.AllMs)} | " +
                $"{(a is null ? "–" : $"{Ms(a.Add.P50Ms)} / {Ms(a.Add.P90Ms)}")} | {Sec(a?.Del.WallMs)} | {Loss(s?.Watch)}; {Loss(a?.Watch)} |");
        }

        md.AppendLine();
        foreach (PathResult p in r.Paths.Where(p => p.Errors.Count > 0))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"**{p.Title}** did not complete:");
            md.AppendLine();
            foreach (string error in p.Errors.Take(8))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {Shell.Tail(error, 400).ReplaceLineEndings(" ")}");
            }

            md.AppendLine();
        }

        md.AppendLine("## Machine and load");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- CPU: {r.Machine.Cpu}, {r.Machine.Cores} cores; kernel {r.Machine.Kernel}; {r.Machine.DotNet}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- {r.Machine.Plugins}; {r.Machine.Libcni} (libcni, built into tests/cni-driver)");
        md.AppendLine(CultureInfo.InvariantCulture, $"- load average (1, 5, 15 min): {string.Join(' ', r.LoadAtStart)} at start, {string.Join(' ', r.LoadAtEnd)} at end, 1-min at most {r.LoadMax} during the run");
        if (r.LoadMax > r.Machine.Cores)
        {
            md.AppendLine("- **the machine was busy** (1-min load above its core count at some point): plugin calls are process starts and");
            md.AppendLine("  file locks, so their latency follows the load; every figure is in the JSON");
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"- {(r.Finished - r.Started).TotalMinutes:0.0} min in all");
        md.AppendLine();
        md.AppendLine("## How each figure is made");
        md.AppendLine();
        md.AppendLine("- Every call goes through libcni (`AddNetworkList`/`DelNetworkList`, as containerd and CRI-O make them) in");
        md.AppendLine("  tests/cni-driver, with its own result cache; host-local keeps its leases in the run's temp directory.");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Sequential: {n} fresh namespaces, one ADD at a time, then one DEL at a time; p50/p90 over the {n} calls (nearest rank).");
        md.AppendLine(CultureInfo.InvariantCulture, $"- At once: {n} ADDs started together; \"ADDs done\" is the wall time until the last returned, \"all ping the gateway\"");
        md.AppendLine("  until the last pod got an echo reply from the gateway of its result (each pod pings every 20 ms from the moment its");
        md.AppendLine("  ADD returns); then the DELs, all at once too.");
        md.AppendLine("- Running pod: w1 pings w2 (both attached before the churn) every 50 ms through both benches; loss is lost/sent, every");
        md.AppendLine("  echo given a second to come back.");
        md.AppendLine("- bridge: Debian's plugin (`isGateway`, no masquerade), driven inside the node namespace so the bridge and the");
        md.AppendLine("  veths' host ends live there. dataplane-cni: the driver runs in the host namespace like a runtime; the plugin asks");
        md.AppendLine("  the daemon (in the node namespace, two static pods w1, w2) over its control socket, and the daemon makes the TAP.");
        return md.ToString();
    }

    private static string Ms(double? value) => value is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "–";

    private static string Sec(double? ms) => ms is { } v ? (v / 1000).ToString("0.00", CultureInfo.InvariantCulture) : "–";

    private static string Loss(BenchWatch? w) => w is null ? "–" : $"{w.Lost}/{w.Sent}";
}
