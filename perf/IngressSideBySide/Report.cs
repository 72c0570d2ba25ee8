using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.IngressSideBySide;

/// <summary>One measurement: a proxy, a protocol, a repeat, the load tool's figures and where the CPU went meanwhile.</summary>
internal sealed record Sample(
    string Proxy,
    Protocol Protocol,
    int Repeat,
    double RequestsPerSecond,
    double P50Ms,
    double P99Ms,
    long Requests,
    long Errors,
    double ProxyCpuPercent,
    double ProxyCpusBusyPercent,
    double LoadCpusBusyPercent,
    double FirstBackendShare,
    string Negotiated)
{
    /// <summary>The proxy's CPU time per request: what it costs, whether or not it was the bottleneck.</summary>
    public double ProxyCpuMicrosecondsPerRequest => RequestsPerSecond > 0 ? ProxyCpuPercent / 100 * 1e6 / RequestsPerSecond : 0;
}

/// <summary>One proxy as the report shows it: how it ran, what it was given, its samples and what failed.</summary>
internal sealed class ProxyResult(string key, string title)
{
    public string Key { get; } = key;

    public string Title { get; } = title;

    public bool Ours => Key != "nginx";

    public string Command { get; set; } = "";

    public List<string> Environment { get; init; } = [];

    public string Notes { get; set; } = "";

    public List<Sample> Samples { get; init; } = [];

    public List<Sample> WarmUp { get; init; } = [];

    public List<string> Errors { get; init; } = [];

    public double? Median(Protocol protocol, Func<Sample, double> figure)
    {
        double[] values = [.. Samples.Where(s => s.Protocol == protocol).Select(figure).Order()];
        if (values.Length == 0)
        {
            return null;
        }

        int mid = values.Length / 2;
        return values.Length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }
}

internal sealed record MachineInfo(string Cpu, int Cores, string Kernel, string DotNet, string Commit, IReadOnlyList<string> Tools)
{
    public static MachineInfo Describe(string root) => new(
        Cpu: File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown",
        Cores: System.Environment.ProcessorCount,
        Kernel: File.ReadAllText("/proc/sys/kernel/osrelease").Trim(),
        DotNet: RuntimeInformation.FrameworkDescription,
        Commit: HeadCommit(root),
        Tools:
        [
            FirstLine(Shell.Capture(["nginx", "-v"]).StdErr),
            FirstLine(Shell.Capture(["wrk", "-v"]).StdOut),
            FirstLine(Shell.Capture(["h2load", "--version"]).StdOut),
            FirstLine(Shell.Capture(["openssl", "version"]).StdOut),
            string.Join(' ', FirstLine(Shell.Capture(["curl", "--version"]).StdOut).Split(' ').Take(2)),
        ]);

    public static double[] LoadAverage() =>
        [.. File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture))];

    private static string HeadCommit(string root)
    {
        (int exit, string head, _) = Shell.Capture(["git", "-C", root, "rev-parse", "--short", "HEAD"]);
        if (exit != 0)
        {
            return "unknown";
        }

        bool dirty = Shell.Capture(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"]).StdOut.Trim().Length > 0;
        return head.Trim() + (dirty ? " (with uncommitted changes)" : "");
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}

/// <summary>Everything one run produced.</summary>
internal sealed record RunReport(
    DateTime Started,
    DateTime Finished,
    MachineInfo Machine,
    double[] LoadAtStart,
    double[] LoadAtEnd,
    double LoadMax,
    LoadSettings Load,
    int Repeat,
    int WarmUpSeconds,
    string ProxyCpus,
    string LoadCpus,
    IReadOnlyList<ProxyResult> Proxies,
    IReadOnlyDictionary<string, string> Configs,
    IReadOnlyList<string> Commands);

internal static class Report
{
    private static readonly (Protocol Protocol, string Title)[] s_protocols =
    [
        (Protocol.Http1, "HTTP/1.1 (wrk, keep-alive)"),
        (Protocol.Http2, "HTTP/2 over TLS (h2load)"),
    ];

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };

    public static string Json(RunReport report) => JsonSerializer.Serialize(report, s_json);

    /// <summary>Reads back what <see cref="Json"/> wrote, so the Markdown can be rewritten without measuring again.</summary>
    public static RunReport FromJson(string text) =>
        JsonSerializer.Deserialize<RunReport>(text, s_json) ?? throw new InvalidOperationException("the report is null");

    public static string Markdown(RunReport r)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Ingress side by side: dataplane ingress vs nginx ({r.Started:yyyy-MM-dd HH:mm} UTC)");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Median of {r.Repeat} interleaved repeat(s) of {r.Load.Seconds} s each; proxies pinned to CPU {r.ProxyCpus}, load generator and backends to CPU {r.LoadCpus}.");
        md.AppendLine();
        md.AppendLine("| protocol | proxy | concurrency | requests/s | p50 ms | p99 ms | proxy CPU % (of one) | proxy CPU µs per request | proxy CPUs busy % | load CPUs busy % | backend split | errors |");
        md.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
        foreach ((Protocol protocol, string title) in s_protocols)
        {
            foreach (ProxyResult p in r.Proxies.Where(p => p.Samples.Any(s => s.Protocol == protocol)))
            {
                double share = p.Median(protocol, s => s.FirstBackendShare) ?? 0;
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {title} | {p.Title} | {r.Load.Concurrency(protocol)} | {F(p.Median(protocol, s => s.RequestsPerSecond), "#,0")} " +
                    $"| {F(p.Median(protocol, s => s.P50Ms), "0.00")} | {F(p.Median(protocol, s => s.P99Ms), "0.00")} " +
                    $"| {F(p.Median(protocol, s => s.ProxyCpuPercent), "0")} | {F(p.Median(protocol, s => s.ProxyCpuMicrosecondsPerRequest), "0.0")} " +
                    $"| {F(p.Median(protocol, s => s.ProxyCpusBusyPercent), "0")} " +
                    $"| {F(p.Median(protocol, s => s.LoadCpusBusyPercent), "0")} " +
                    $"| {share * 100:0}/{100 - share * 100:0} | {p.Samples.Where(s => s.Protocol == protocol).Sum(s => s.Errors)} |");
            }
        }

        md.AppendLine();
        ProxyResult? nginx = r.Proxies.FirstOrDefault(p => !p.Ours);
        List<ProxyResult> ours = [.. r.Proxies.Where(p => p.Ours)];
        if (nginx is not null && ours.Any(p => p.Samples.Count > 0))
        {
            md.AppendLine("Goal (issue 13): at least nginx's requests/s at no worse p99.");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"| ratio ours / nginx | target | {string.Join(" | ", ours.Select(p => p.Title))} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"|---|---|{string.Concat(ours.Select(_ => "---:|"))}");
            foreach ((Protocol protocol, string title) in s_protocols)
            {
                Row(md, $"{title}: requests/s", ">= 1.0", ours, p => Ratio(p, nginx, protocol, s => s.RequestsPerSecond), v => v >= 1.0);
                Row(md, $"{title}: p50", "", ours, p => Ratio(p, nginx, protocol, s => s.P50Ms), null);
                Row(md, $"{title}: p99", "<= 1.0", ours, p => Ratio(p, nginx, protocol, s => s.P99Ms), v => v <= 1.0);
                Row(md, $"{title}: proxy CPU µs per request", "", ours, p => Ratio(p, nginx, protocol, s => s.ProxyCpuMicrosecondsPerRequest), null);
            }

            md.AppendLine();
            Bottleneck(md, r, nginx, ours);
        }
        else if (ours.Count > 0 && ours.All(p => p.Samples.Count == 0))
        {
            md.AppendLine("**The dataplane column could not be measured in this run** (see below): nginx's figures stand alone.");
            md.AppendLine();
        }

        foreach (ProxyResult p in r.Proxies.Where(p => p.Environment.Count > 0))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"{p.Title} runs with {string.Join(' ', p.Environment.Select(e => $"`{e}`"))}.");
            md.AppendLine();
        }

        foreach (ProxyResult p in r.Proxies.Where(p => p.Errors.Count > 0))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"**{p.Title}**:");
            md.AppendLine();
            foreach (string error in p.Errors.Take(8))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {Shell.Tail(error, 400).ReplaceLineEndings(" ")}");
            }

            md.AppendLine();
        }

        md.AppendLine("## Every sample");
        md.AppendLine();
        md.AppendLine("| repeat | protocol | proxy | requests/s | p50 ms | p99 ms | proxy CPU % | µs per request | proxy CPUs busy % | load CPUs busy % | errors | negotiated |");
        md.AppendLine("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (Sample s in r.Proxies.SelectMany(p => p.WarmUp.Concat(p.Samples)).OrderBy(s => s.Repeat).ThenBy(s => s.Protocol))
        {
            string title = r.Proxies.First(p => p.Key == s.Proxy).Title;
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {(s.Repeat == 0 ? "warm-up" : s.Repeat)} | {s.Protocol} | {title} | {s.RequestsPerSecond:#,0} | {s.P50Ms:0.00} | {s.P99Ms:0.00} " +
                $"| {s.ProxyCpuPercent:0} | {s.ProxyCpuMicrosecondsPerRequest:0.0} | {s.ProxyCpusBusyPercent:0} | {s.LoadCpusBusyPercent:0} | {s.Errors} | {s.Negotiated} |");
        }

        md.AppendLine();
        md.AppendLine("## Machine and load");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- CPU: {r.Machine.Cpu}, {r.Machine.Cores} cores; kernel {r.Machine.Kernel}; {r.Machine.DotNet}; commit {r.Machine.Commit}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- {string.Join("; ", r.Machine.Tools)}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- load average (1, 5, 15 min): {string.Join(' ', r.LoadAtStart)} at start, {string.Join(' ', r.LoadAtEnd)} at end, 1-min at most {r.LoadMax} during the run");
        if (r.LoadMax > r.Machine.Cores)
        {
            md.AppendLine("- **the machine was busy** (1-min load above its core count): other processes ran on the pinned CPUs too (taskset keeps");
            md.AppendLine("  ours on them, not others off them); \"CPUs busy\" above the proxy's own share is their time. Figures move between repeats.");
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"- {r.WarmUpSeconds} s of warm-up per proxy and protocol before the first repeat (in \"Every sample\" as warm-up, not in the medians); {(r.Finished - r.Started).TotalMinutes:0.0} min in all");
        md.AppendLine();
        md.AppendLine("## How each figure is made");
        md.AppendLine();
        md.AppendLine("- One network namespace made for the run holds everything: the proxies listen on 127.0.0.1, the two backends on");
        md.AppendLine("  10.244.1.11:8080 and 10.244.1.12:8080 (addresses on its loopback), the load generator connects over it. Nothing else");
        md.AppendLine("  shares it; it is deleted at the end.");
        md.AppendLine("- Backends: two nginx processes (one worker each) answering \"ok\\n\" from memory with keep-alive; the same for both");
        md.AppendLine("  proxies. \"backend split\" is the share of requests each answered during the measurements (their stub_status).");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Same CPU budget: each proxy runs under `taskset -c {r.ProxyCpus}` (nginx with worker_processes 1; the controller's .NET");
        md.AppendLine(CultureInfo.InvariantCulture, $"  runtime then sees {CpuMeter.CpuList(r.ProxyCpus).Length} CPU(s)); the load generator and both backends under `taskset -c {r.LoadCpus}`.");
        md.AppendLine("  \"proxy CPU %\" is the proxy's processes' user+system time in % of one CPU, and per request in µs; \"CPUs busy\" counts");
        md.AppendLine("  everything on those CPUs. With 2 cores the load generator and the backends share one: when it is busy near 100 % and");
        md.AppendLine("  the proxy is not, the load side is the limit, and µs per request is the fairer comparison of the proxies.");
        md.AppendLine("- Both proxies run throughout; measurements alternate between them (all proxies for one protocol, then the other");
        md.AppendLine("  protocol, then the next repeat), so a burst of load from elsewhere hits both alike.");
        md.AppendLine("- HTTP/1.1: wrk, one thread, keep-alive connections, `Host: bench.example`; requests/s and the p50/p99 of its latency");
        md.AppendLine("  distribution (`--latency`). Errors are its non-2xx/3xx responses plus socket errors.");
        md.AppendLine("- HTTP/2: h2load, one thread, TLS with ALPN h2 to `https://bench.example/` connected to the proxy's port (`--connect-to`,");
        md.AppendLine("  so SNI and :authority are bench.example); requests/s as it reports it, p50/p99 (nearest rank) from its per-request log.");
        md.AppendLine("- TLS: one self-signed RSA 2048 certificate for bench.example made with openssl in the run: nginx reads the PEM files,");
        md.AppendLine("  the controller the same certificate from a kubernetes.io/tls Secret in its objects file.");
        md.AppendLine("- Neither logs per request: nginx has access_log off, the controller runs at --log-level Warning.");
        md.AppendLine("- Warm-up: the controller's JIT (tiered compilation with PGO) needs load to settle, and on one CPU the runtime delays");
        md.AppendLine("  tier-up tenfold; its CPU per request falls by half or more over the first minute. The warm-up gives it that time");
        md.AppendLine("  (nginx gets the same, needing none); the first repeat may still show the tail of it.");
        md.AppendLine();
        md.AppendLine("## Commands");
        md.AppendLine();
        md.AppendLine("Each runs as `ip netns exec <the run's namespace> ...`.");
        md.AppendLine();
        md.AppendLine("```");
        foreach (string command in r.Commands)
        {
            md.AppendLine(command);
        }

        md.AppendLine("```");
        foreach (ProxyResult p in r.Proxies.Where(p => p.Notes.Length > 0))
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"{p.Title}, as it reported itself:");
            md.AppendLine();
            md.AppendLine("```");
            md.AppendLine(p.Notes);
            md.AppendLine("```");
        }

        foreach ((string name, string text) in r.Configs)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"### {name}");
            md.AppendLine();
            md.AppendLine(name.EndsWith(".yaml", StringComparison.Ordinal) ? "```yaml" : "```nginx");
            md.AppendLine(text.TrimEnd());
            md.AppendLine("```");
        }

        return md.ToString();
    }

    /// <summary>
    /// Says which side limited the run. When nginx was far from using its CPU while the load CPU was saturated, its
    /// requests/s and latency are the load side's (and the other tenants' of a shared machine), not its own ceiling: a
    /// "met" above then says little, and the CPU each proxy spends per request is the comparison of the proxies.
    /// </summary>
    private static void Bottleneck(StringBuilder md, RunReport r, ProxyResult nginx, List<ProxyResult> ours)
    {
        foreach ((Protocol protocol, string title) in s_protocols)
        {
            if (nginx.Median(protocol, s => s.ProxyCpuPercent) is not { } nginxCpu || nginx.Median(protocol, s => s.LoadCpusBusyPercent) is not { } loadBusy ||
                nginxCpu >= 80 || loadBusy < 95)
            {
                continue;
            }

            string Ceiling(ProxyResult p) => p.Median(protocol, s => s.ProxyCpuMicrosecondsPerRequest) is { } us and > 0
                ? $"{p.Title} ~{1e6 / us:#,0}/s"
                : $"{p.Title} –";
            md.AppendLine(CultureInfo.InvariantCulture,
                $"{title}: **nginx was not the bottleneck** (it used {nginxCpu:0} % of its CPU while the load CPU was {loadBusy:0} % busy), so its requests/s");
            md.AppendLine(CultureInfo.InvariantCulture,
                $"and latency are the load side's, not its ceiling. Each proxy's CPU per request bounds what it would serve on a CPU of its own:");
            md.AppendLine(CultureInfo.InvariantCulture, $"{string.Join(", ", new[] { nginx }.Concat(ours).Select(Ceiling))} (1,000,000 / µs per request).");
            md.AppendLine();
        }

        if (r.LoadMax > r.Machine.Cores)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"The machine was shared and busy (1-min load up to {r.LoadMax} on {r.Machine.Cores} cores): a single-threaded nginx worker waits behind other");
            md.AppendLine("processes for each time slice on its CPU, where the controller's several threads get a larger share of it; that favours");
            md.AppendLine("ours in requests/s and p99 beyond what the proxies themselves do.");
            md.AppendLine();
        }
    }

    private static double? Ratio(ProxyResult ours, ProxyResult nginx, Protocol protocol, Func<Sample, double> figure) =>
        ours.Median(protocol, figure) is { } a && nginx.Median(protocol, figure) is { } b && b > 0 ? a / b : null;

    private static void Row(StringBuilder md, string name, string target, List<ProxyResult> ours, Func<ProxyResult, double?> ratio, Func<double, bool>? met)
    {
        IEnumerable<string> cells = ours.Select(p => ratio(p) switch
        {
            null => "–",
            double v when met is null => v.ToString("0.00", CultureInfo.InvariantCulture),
            double v when met(v) => $"{v.ToString("0.00", CultureInfo.InvariantCulture)} met",
            double v => $"**{v.ToString("0.00", CultureInfo.InvariantCulture)} missed**",
        });
        md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {target} | {string.Join(" | ", cells)} |");
    }

    private static string F(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";
}
