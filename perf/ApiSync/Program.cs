using System.Diagnostics;
using System.Globalization;
using Dataplane.ApiSync;
using Dataplane.Tests.Kubernetes;

// How fast the node follows the API server at scale: the initial sync of 10,000 Services and 100,000 endpoints over the
// informers and through ClusterSync.Load, one EndpointSlice change at that scale, and the forwarding thread's allocations
// meanwhile. Everything in this process, no root: the API server is the tests' double. Writes perf/results/<date>-apisync.{md,json}.
const string Usage = """
    usage: apisync [--services N] [--small N] [--endpoints N] [--changes N] [--repeat N] [--out DIR]
      --services N   services of the big run (default 10000), one EndpointSlice each
      --small N      services of the scaling run (default 1000)
      --endpoints N  endpoints per service (default 10)
      --changes N    EndpointSlice changes per churn phase (default 1000): quiet, then with a forwarding thread
      --repeat N     warm repeats of each initial sync (default 3; the summary shows the median)
      --out DIR      where the report goes (default perf/results)
    About a minute and 2-3 GB of memory at the defaults.
    """;

int services = 10_000, small = 1_000, endpoints = 10, changes = 1_000, repeat = 3;
string? outDir = null;
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    int Number() => int.Parse(Value(), CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--services": services = Number(); break;
        case "--small": small = Number(); break;
        case "--endpoints": endpoints = Number(); break;
        case "--changes": changes = Number(); break;
        case "--repeat": repeat = Number(); break;
        case "--out": outDir = Value(); break;
        default: Console.Error.WriteLine(Usage); return args[i] is "-h" or "--help" ? 0 : 2;
    }
}

if (repeat < 1 || changes < 4 || small < 2 || services < small)
{
    Console.Error.WriteLine($"apisync: --repeat 1+, --changes 4+, --small 2+ and at most --services\n{Usage}");
    return 2;
}

outDir ??= Path.Combine(RepositoryRoot.Find(), "perf", "results");
DateTime started = DateTime.UtcNow;
double[] loadAtStart = Machine.LoadAverage();
double loadMax = loadAtStart[0];
void Sample() => loadMax = Math.Max(loadMax, Machine.LoadAverage()[0]);
var syncs = new List<SyncFigures>();
var splits = new List<SplitFigures>();
var churns = new List<ChurnFigures>();
var problems = new List<string>();

Console.WriteLine($"generating {services:N0} and {small:N0} services, {endpoints} endpoints each");
var big = new Cluster(services, endpoints);
var smallCluster = new Cluster(small, endpoints);
var populating = Stopwatch.StartNew();
await using FakeApiServer bigServer = await StartServerAsync(big);
await using FakeApiServer smallServer = await StartServerAsync(smallCluster);
double populateSeconds = populating.Elapsed.TotalSeconds;
Console.WriteLine($"API server doubles populated in {populateSeconds:0.0} s (big at {bigServer.BaseUri}, small at {smallServer.BaseUri})");

void Print(SyncFigures s)
{
    Console.WriteLine($"{s.Path,-9} {s.Services,6:N0} {(s.Cold ? "cold" : "warm")}: {s.TotalMs,7:0.0} ms ({s.CpuMs:0} ms CPU)" +
        (s.ListedMs is { } l ? $" (lists at {string.Join(" / ", l.Select(static v => v.ToString("0", CultureInfo.InvariantCulture)))} ms, then {s.ProgramMs:0.0} ms translate + program)" : "") +
        $", heap +{s.HeapDeltaMb:0.0} MB, working set {s.WorkingSetBeforeMb:0} -> {s.WorkingSetAfterMb:0} MB, {s.Served:N0} served, {s.Routes} routes" +
        (s.Warnings > 0 ? $", {s.Warnings} warnings" : ""));
    if (s.Served != s.Services || s.Warnings > 0)
    {
        problems.Add($"{s.Path} {s.Services:N0}: {s.Served:N0} served, {s.Warnings} warnings");
    }

    syncs.Add(s);
    Sample();
}

// First in the process, as the daemon's first sync is: nothing of the client's JSON, the translators or the table has run.
await StopAsync(Print, await Detached(SyncRuns.InformersAsync(bigServer, big, cold: true)));
for (int r = 0; r < repeat; r++)
{
    Print(SyncRuns.Load(smallCluster, cold: false));
    Print(SyncRuns.Load(big, cold: false));
}

for (int r = 0; r < repeat; r++)
{
    SplitFigures split = await Detached(SyncRuns.SplitAsync(bigServer, big));
    Console.WriteLine($"split    {split.Services,6:N0}: HTTP {split.ServicesHttpMs:0.0} + {split.SlicesHttpMs:0.0} ms, JSON {split.ServicesJsonMs:0.0} + {split.SlicesJsonMs:0.0} ms, " +
        $"translate {split.TranslateMs:0.0} ms, program {split.ProgramMs:0.0} ms (Maglev builds alone {split.MaglevBuildMs:0.0} ms; +{split.ProgramHeapDeltaMb:0.0} MB, {split.MaglevTables:N0} Maglev tables {split.MaglevMb:0.0} MB)");
    splits.Add(split);
    Sample();
}

RunningSync? running = null;
for (int r = 0; r < repeat; r++)
{
    await StopAsync(Print, await Detached(SyncRuns.InformersAsync(smallServer, smallCluster, cold: false)));
    (SyncFigures figures, RunningSync synced) = await Detached(SyncRuns.InformersAsync(bigServer, big, cold: false));
    Print(figures);
    if (r < repeat - 1)
    {
        await synced.DisposeAsync();
    }
    else
    {
        running = synced;
    }
}

foreach (bool forwarding in (bool[])[false, true])
{
    ChurnFigures churn = Churn.Run(bigServer, running!, big, changes, forwarding, warmup: forwarding ? 0 : 20);
    Console.WriteLine($"churn {churn.Phase}: {churn.Changes:N0} changes in {churn.Seconds:0.0} s; event -> programmed p50 {churn.Programmed.P50:0.00} p99 {churn.Programmed.P99:0.00} max {churn.Programmed.Max:0.00} ms; " +
        $"upsert -> programmed p50 {churn.EndToEnd.P50:0.00} p99 {churn.EndToEnd.P99:0.00} max {churn.EndToEnd.Max:0.00} ms; GCs {churn.Gen0}/{churn.Gen1}/{churn.Gen2}, pause {churn.GcPauseMs:0.0} ms" +
        (churn.Forwarding is { } f ? $"; forwarding {f.PacketsIn:N0} packets ({f.Mpps:0.00} Mpps), {f.FramesOut:N0} out, {f.Drops:N0} dropped, {f.AllocatedBytes:N0} B allocated" : ""));
    if (churn.Mismatches > 0)
    {
        problems.Add($"churn {churn.Phase}: {churn.Mismatches} changes left the churned port with other backends than expected");
    }

    if (churn.Forwarding is { AllocatedBytes: > 0 } leak)
    {
        problems.Add($"the forwarding thread allocated {leak.AllocatedBytes:N0} bytes during the churn");
    }

    churns.Add(churn);
    Sample();
}

await running!.DisposeAsync();
var report = new RunReport(started, DateTime.UtcNow, Machine.Describe(), loadAtStart, Machine.LoadAverage(), loadMax, services, small, endpoints, repeat,
    Math.Round(populateSeconds, 1), Machine.PeakWorkingSetMb(), syncs, splits, churns, problems);
ResultFiles.Write(outDir, started, "apisync", Report.Markdown(report), Report.Json(report));
return problems.Count > 0 ? 1 : 0;

// An async method's caller goes on inside the frame that completed it, where the method's locals (a node, here) are
// still alive on the stack; the measurements after it must not see them, so go on from a fresh thread-pool stack.
static async Task<T> Detached<T>(Task<T> task)
{
    T result = await task;
    await Task.Yield();
    return result;
}

static async Task StopAsync(Action<SyncFigures> print, (SyncFigures Figures, RunningSync Running) run)
{
    print(run.Figures);
    await run.Running.DisposeAsync();
}

// Every object upserted as the API's JSON, then the history compacted away (nothing watches from before now) and each
// list read once, so the server's snapshot of the current revision is built before any measured list.
static async Task<FakeApiServer> StartServerAsync(Cluster cluster)
{
    FakeApiServer server = await FakeApiServer.StartAsync();
    foreach (k8s.Models.V1Service service in cluster.Objects.Services)
    {
        server.Upsert(service);
    }

    foreach (k8s.Models.V1EndpointSlice slice in cluster.Objects.EndpointSlices)
    {
        server.Upsert(slice);
    }

    foreach (k8s.Models.V1Node node in cluster.Objects.Nodes)
    {
        server.Upsert(node);
    }

    server.Compact();
    using var http = new HttpClient { BaseAddress = server.BaseUri };
    foreach (string path in (string[])["api/v1/services", "apis/discovery.k8s.io/v1/endpointslices", "api/v1/nodes"])
    {
        await http.GetByteArrayAsync($"{path}?limit=1");
    }

    return server;
}
