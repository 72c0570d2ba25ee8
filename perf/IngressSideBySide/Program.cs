using System.Globalization;
using System.Security.Cryptography;
using Dataplane.IngressSideBySide;

// Our Ingress controller (`dataplane ingress`, YARP on Kestrel) against Debian's nginx as the equivalent reverse proxy,
// side by side in one run: the same backends, the same CPU budget, wrk over HTTP/1.1 and h2load over HTTP/2 with TLS,
// alternating. Writes perf/results/<date>-ingress-sidebyside.{md,json}.
const string Usage = """
    usage: ingresssidebyside [--seconds N] [--repeat N] [--warmup N] [--connections N] [--h2-clients N] [--h2-streams N]
                             [--only nginx,dataplane] [--proxy-cpus LIST] [--load-cpus LIST]
                             [--dataplane-env KEY=VALUE]... [--variant NAME:KEY=VALUE[,KEY=VALUE]]...
                             [--out DIR] [--no-build] [--no-install]
           ingresssidebyside --redraw RESULTS.json
      --seconds N         length of each measurement (default 10)
      --repeat N          measure every proxy N times, alternating, and report medians (default 3)
      --warmup N          seconds of load per proxy and protocol before the first repeat, not counted (default 30: on
                          one CPU the controller's JIT tiering takes that long to settle)
      --connections N     wrk's keep-alive connections (default 50)
      --h2-clients N      h2load's connections (default 10), each with --h2-streams N concurrent streams (default 10)
      --only KEYS         nginx, dataplane (default both; variants are measured with dataplane)
      --proxy-cpus LIST   the taskset CPU list of every proxy (default 1)
      --load-cpus LIST    the taskset CPU list of the load generator and the backends (default 0)
      --dataplane-env KV  an environment variable for the controller (repeatable), e.g. DOTNET_gcServer=1
      --variant NAME:KVS  also measure the controller with these environment variables, as its own column (repeatable),
                          e.g. inline:DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
      --out DIR           where the report goes (default perf/results)
      --no-build          skip the Release build of the dataplane CLI
      --no-install        do not apt-get install nginx, wrk, nghttp2-client, openssl, curl when missing
      --redraw F          rewrite the Markdown of an earlier run from its JSON, measuring nothing
    Needs root. Everything runs in one network namespace named dpt-ing*, removed at the end (also on Ctrl-C).
    """;

int seconds = 10, repeat = 3, warmup = 30, connections = 50, h2Clients = 10, h2Streams = 10;
string? only = null, outDir = null, redraw = null;
string proxyCpus = "1", loadCpus = "0";
bool build = true, install = true;
var dataplaneEnv = new List<string>();
var variants = new List<(string Name, string[] Environment)>();
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    int Number() => int.Parse(Value(), CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--seconds": seconds = Number(); break;
        case "--repeat": repeat = Number(); break;
        case "--warmup": warmup = Number(); break;
        case "--connections": connections = Number(); break;
        case "--h2-clients": h2Clients = Number(); break;
        case "--h2-streams": h2Streams = Number(); break;
        case "--only": only = Value(); break;
        case "--proxy-cpus": proxyCpus = Value(); break;
        case "--load-cpus": loadCpus = Value(); break;
        case "--dataplane-env": dataplaneEnv.Add(Value()); break;
        case "--variant":
            string[] variant = Value().Split(':', 2);
            variants.Add((variant[0], variant.Length == 2 ? variant[1].Split(',') : []));
            break;
        case "--out": outDir = Value(); break;
        case "--no-build": build = false; break;
        case "--no-install": install = false; break;
        case "--redraw": redraw = Value(); break;
        default: Console.Error.WriteLine(Usage); return args[i] is "-h" or "--help" ? 0 : 2;
    }
}

if (redraw is not null)
{
    string markdownAgain = Report.Markdown(Report.FromJson(File.ReadAllText(redraw)));
    File.WriteAllText(Path.ChangeExtension(Path.GetFullPath(redraw), ".md"), markdownAgain);
    Console.WriteLine(markdownAgain);
    return 0;
}

if (dataplaneEnv.Concat(variants.SelectMany(v => v.Environment)).FirstOrDefault(kv => !kv.Contains('=', StringComparison.Ordinal)) is { } bad)
{
    Console.Error.WriteLine($"ingresssidebyside: '{bad}' is not KEY=VALUE");
    return 2;
}

if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("ingresssidebyside: needs root (a network namespace, apt-get for the load tools)");
    return 1;
}

// The load tools and nginx come from Debian; installing them is part of the preflight (nginx's service is never started).
if (install)
{
    Packages.EnsureInstalled("ingresssidebyside", ["nginx", "wrk", "nghttp2-client", "openssl", "curl"], ["nginx"]);
}

if (!Preflight.Ready("ingresssidebyside", "a network namespace", ["ip", "taskset", "nginx", "wrk", "h2load", "openssl", "curl", "dotnet", "git"]))
{
    return 1;
}

string root = RepositoryRoot.Find();
outDir ??= Path.Combine(root, "perf", "results");
string dataplaneDll = Path.Combine(root, "src", "Dataplane.Cli", "bin", "Release", "net10.0", "dataplane.dll");
if (build && only?.Split(',').Contains("dataplane") != false)
{
    Console.WriteLine("building dataplane (Release)...");
    Shell.Run(["dotnet", "build", Path.Combine(root, "src", "Dataplane.Cli"), "-c", "Release", "-v", "quiet", "-nologo"], TimeSpan.FromMinutes(10));
}

var proxies = new List<Proxy> { new NginxProxy(), new DataplaneProxy("dataplane", "dataplane ingress", 8000, 8443, dataplaneDll, dataplaneEnv) };
for (int v = 0; v < variants.Count; v++)
{
    string[] environment = [.. dataplaneEnv, .. variants[v].Environment];
    proxies.Add(new DataplaneProxy($"dataplane-{variants[v].Name}", $"dataplane ingress ({variants[v].Name})",
        8010 + (10 * v), 8453 + (10 * v), dataplaneDll, environment));
}

if (only?.Split(',').Except(["nginx", "dataplane"]).ToList() is { Count: > 0 } unknown)
{
    Console.Error.WriteLine($"ingresssidebyside: no proxy named {string.Join(", ", unknown)}\n{Usage}");
    return 2;
}

proxies.RemoveAll(p => only is not null && !only.Split(',').Contains(p is NginxProxy ? "nginx" : "dataplane"));

// Ctrl-C and SIGTERM stop the run; the finally below still stops every process and deletes the namespace.
using var stopSignals = new StopSignals();

string runId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2));
DirectoryInfo workDir = Directory.CreateTempSubdirectory($"dpt-ing{runId}-");
var load = new LoadSettings(seconds, connections, h2Clients, h2Streams);
var topology = new Topology(runId, workDir.FullName, proxyCpus, loadCpus);
var results = proxies.ToDictionary(p => p, p => new ProxyResult(p.Key, p.Title));
DateTime started = DateTime.UtcNow;
double[] loadAtStart = MachineInfo.LoadAverage();
double loadMax = loadAtStart[0];
MachineInfo machine = MachineInfo.Describe(root);
var configs = new Dictionary<string, string>();
Console.WriteLine($"load average {string.Join(' ', loadAtStart)}; proxies on CPU {proxyCpus}, load and backends on CPU {loadCpus}; " +
    $"{seconds} s per measurement, {repeat} repeat(s)");
try
{
    Console.WriteLine($"setting up {topology.Namespace}: certificate, backends {string.Join(", ", Topology.BackendIps)}");
    topology.Start();
    configs["backend-1.conf (backend-2 differs only in its address)"] = topology.BackendConfig;
    foreach (Proxy proxy in proxies)
    {
        Console.WriteLine($"starting {proxy.Title} on :{proxy.HttpPort} and :{proxy.HttpsPort}");
        ProxyResult result = results[proxy];
        try
        {
            proxy.Start(topology);
            Console.WriteLine("  serving bench.example over HTTP/1.1 and HTTP/2");
        }
        catch (InvalidOperationException ex)
        {
            result.Errors.Add($"setup: {ex.Message}");
            Console.WriteLine($"  failed: {Shell.Tail(ex.Message, 300)}");
        }

        result.Command = proxy.Command;
        result.Notes = proxy.Notes;
        if (proxy is DataplaneProxy ours)
        {
            result.Environment.AddRange(ours.Environment);
        }

        foreach ((string name, string text) in proxy.Files.Where(f => !configs.Values.Contains(f.Text)))
        {
            configs[name] = text;
        }
    }

    List<Proxy> ready = [.. proxies.Where(p => results[p].Errors.Count == 0)];

    // One measurement of one proxy: the load, its CPU, and how the backends shared it.
    Sample Measure(Proxy proxy, Protocol protocol, int round, int length)
    {
        long[] before = topology.BackendRequests();
        var meter = CpuMeter.Start(proxy.Process!.Id, proxyCpus, loadCpus);
        LoadFigures figures = Load.Run(topology, load, protocol, proxy, length);
        (double proxyCpu, double proxyBusy, double loadBusy) = meter.Stop();
        long[] after = topology.BackendRequests();
        long first = after[0] - before[0], second = after[1] - before[1];
        loadMax = Math.Max(loadMax, MachineInfo.LoadAverage()[0]);
        return new Sample(proxy.Key, protocol, round, figures.RequestsPerSecond, figures.P50Ms, figures.P99Ms, figures.Requests, figures.Errors,
            proxyCpu, proxyBusy, loadBusy, first + second == 0 ? 0 : (double)first / (first + second), figures.Negotiated);
    }

    void Print(string round, Proxy proxy, Sample s) => Console.WriteLine(
        $"[{round}] {s.Protocol,-5} {proxy.Title,-30} {s.RequestsPerSecond,9:#,0} req/s  p50 {s.P50Ms,6:0.00} ms  p99 {s.P99Ms,7:0.00} ms  " +
        $"proxy CPU {s.ProxyCpuPercent,3:0}% ({s.ProxyCpuMicrosecondsPerRequest,5:0.0} µs/request)  load CPUs {s.LoadCpusBusyPercent,3:0}%" + (s.Errors > 0 ? $"  {s.Errors} errors" : ""));

    var rounds = new List<(int Round, int Length)>();
    if (warmup > 0)
    {
        rounds.Add((0, warmup));
    }

    rounds.AddRange(Enumerable.Range(1, repeat).Select(r => (r, seconds)));
    foreach ((int round, int length) in rounds)
    {
        foreach (Protocol protocol in new[] { Protocol.Http1, Protocol.Http2 })
        {
            foreach (Proxy proxy in ready)
            {
                ProxyResult result = results[proxy];
                try
                {
                    Sample sample = Measure(proxy, protocol, round, length);
                    (round == 0 ? result.WarmUp : result.Samples).Add(sample);
                    if (sample.Errors > 0 && round > 0)
                    {
                        result.Errors.Add($"repeat {round} {protocol}: {sample.Errors} of {sample.Requests} requests failed");
                    }

                    Print(round == 0 ? "warm-up" : $"{round}/{repeat}", proxy, sample);
                }
                catch (InvalidOperationException ex)
                {
                    result.Errors.Add($"repeat {round} {protocol}: {ex.Message}");
                    Console.WriteLine($"[{round}/{repeat}] {protocol,-5} {proxy.Title,-30} failed: {Shell.Tail(ex.Message, 200)}");
                }

                if (proxy.Process!.HasExited)
                {
                    throw new InvalidOperationException($"{proxy.Title} exited during the run: {Shell.Tail(proxy.Process.Output)}");
                }
            }
        }
    }
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("ingresssidebyside: interrupted; cleaning up");
    return 130;
}
finally
{
    Console.WriteLine("cleaning up");
    topology.Dispose();
    workDir.Delete(recursive: true);
}

var commands = new List<string> { topology.BackendCommand };
commands.AddRange(proxies.Select(p => p.Command).Where(c => c.Length > 0));
commands.AddRange(proxies.Where(p => p.Command.Length > 0).SelectMany(p => new[] { Protocol.Http1, Protocol.Http2 }
    .Select(protocol => $"{Shell.Quote(load.Command(protocol, p, loadCpus, seconds, "h2load.log"))}   # {p.Title}")));
var report = new RunReport(started, DateTime.UtcNow, machine, loadAtStart, MachineInfo.LoadAverage(), loadMax, load, repeat, warmup, proxyCpus, loadCpus,
    [.. proxies.Select(p => results[p])], configs, commands);
ResultFiles.Write(outDir, started, "ingress-sidebyside", Report.Markdown(report), Report.Json(report));
return results.Values.Any(r => r.Errors.Count > 0) ? 1 : 0;
