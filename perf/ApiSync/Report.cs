using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Dataplane.ApiSync;

internal sealed record Machine(string Cpu, int Cores, string Kernel, string DotNet, string KubernetesClient, string Gc)
{
    public static Machine Describe() => new(
        Cpu: File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown",
        Cores: Environment.ProcessorCount,
        Kernel: File.ReadAllText("/proc/sys/kernel/osrelease").Trim(),
        DotNet: RuntimeInformation.FrameworkDescription,
        KubernetesClient: typeof(k8s.Kubernetes).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown",
        Gc: System.Runtime.GCSettings.IsServerGC ? "server" : $"workstation, {(System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.Interactive ? "concurrent" : System.Runtime.GCSettings.LatencyMode.ToString())}");

    public static double[] LoadAverage() =>
        [.. File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture))];

    /// <summary>The process's peak resident set (VmHWM), MB.</summary>
    public static double PeakWorkingSetMb() =>
        File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)) is { } line
            ? Math.Round(long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0, 1)
            : double.NaN;
}

internal sealed record RunReport(DateTime Started, DateTime Finished, Machine Machine, double[] LoadAtStart, double[] LoadAtEnd, double LoadMax,
    int Services, int SmallServices, int EndpointsPerService, int Repeat, double PopulateSeconds, double PeakWorkingSetMb,
    IReadOnlyList<SyncFigures> Syncs, IReadOnlyList<SplitFigures> Splits, IReadOnlyList<ChurnFigures> Churns, IReadOnlyList<string> Problems);

internal static class Report
{
    private const double SyncGoalMs = 1000;
    private const double ChangeGoalMs = 10;

    public static string Json(RunReport report) => JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });

    public static string Markdown(RunReport r)
    {
        var md = new StringBuilder();
        void Line(FormattableString text) => md.AppendLine(text.ToString(CultureInfo.InvariantCulture));
        SyncFigures? Median(string path, int services, bool cold = false) => r.Syncs.Where(s => s.Path == path && s.Services == services && s.Cold == cold)
            .OrderBy(static s => s.TotalMs).ElementAtOrDefault((r.Syncs.Count(s => s.Path == path && s.Services == services && s.Cold == cold) - 1) / 2);
        SplitFigures? split = r.Splits.OrderBy(static s => s.TranslateMs + s.ProgramMs).ElementAtOrDefault((r.Splits.Count - 1) / 2);
        ChurnFigures? quiet = r.Churns.FirstOrDefault(static c => c.Forwarding is null);
        ChurnFigures? busy = r.Churns.FirstOrDefault(static c => c.Forwarding is not null);
        SyncFigures? cold = Median("informers", r.Services, cold: true);
        SyncFigures? informers = Median("informers", r.Services);
        SyncFigures? load = Median("load", r.Services);
        string big = r.Services.ToString("N0", CultureInfo.InvariantCulture);
        string endpoints = ((long)r.Services * r.EndpointsPerService).ToString("N0", CultureInfo.InvariantCulture);

        Line($"# API sync: {big} Services, {endpoints} endpoints ({r.Started:yyyy-MM-dd HH:mm} UTC)");
        md.AppendLine();
        md.AppendLine("| figure | measured | goal |");
        md.AppendLine("|---|---:|---|");
        Line($"| initial sync over the informers (HTTP list, 500 a page, to all {big} services programmed), warm median | {Ms(informers?.TotalMs)} ms ({Ms(informers?.CpuMs)} ms CPU) | {Verdict(informers?.TotalMs, SyncGoalMs)} |");
        Line($"| the same, first sync in the process (cold JIT, as at daemon start) | {Ms(cold?.TotalMs)} ms ({Ms(cold?.CpuMs)} ms CPU) | {Verdict(cold?.TotalMs, SyncGoalMs)} |");
        Line($"| `ClusterSync.Load` of the same objects (translate + program, no HTTP), warm median | {Ms(load?.TotalMs)} ms ({Ms(load?.CpuMs)} ms CPU) | {Verdict(load?.TotalMs, SyncGoalMs)} |");
        Line($"| managed heap held for the cluster after the informer sync (full GC, after minus before) | {Mb(informers?.HeapDeltaMb)} MB | – |");
        Line($"| one EndpointSlice change, event to programmed (ClusterSync's Programmed), p50 / p99 / max, quiet | {Lat(quiet?.Programmed)} ms | {Verdict(quiet?.Programmed.P99, ChangeGoalMs)} (p99) |");
        Line($"| the same while a thread forwards | {Lat(busy?.Programmed)} ms | {Verdict(busy?.Programmed.P99, ChangeGoalMs)} (p99) |");
        Line($"| upsert on the API server to programmed, p50 / p99 / max, quiet; forwarding | {Lat(quiet?.EndToEnd)}; {Lat(busy?.EndToEnd)} ms | – |");
        Line($"| bytes allocated by the forwarding thread during the churn | {busy?.Forwarding?.AllocatedBytes.ToString("N0", CultureInfo.InvariantCulture) ?? "–"} B | {(busy?.Forwarding is { } f ? f.AllocatedBytes == 0 ? "0: met" : "0: **missed**" : "–")} |");
        Line($"| packets it pushed through the graph meanwhile (frames out) | {busy?.Forwarding?.PacketsIn.ToString("N0", CultureInfo.InvariantCulture) ?? "–"} ({busy?.Forwarding?.FramesOut.ToString("N0", CultureInfo.InvariantCulture) ?? "–"}), {busy?.Forwarding?.Mpps.ToString("0.00", CultureInfo.InvariantCulture) ?? "–"} Mpps | – |");
        md.AppendLine();

        md.AppendLine("## Initial sync");
        md.AppendLine();
        md.AppendLine("| services | path | run | total ms | CPU ms | lists arrived (services / slices / nodes) ms | translate + program ms | heap before → after MB (Δ) | working set before → after MB | served | routes |");
        md.AppendLine("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (SyncFigures s in r.Syncs.OrderBy(static s => s.Path).ThenBy(static s => s.Services).ThenByDescending(static s => s.Cold))
        {
            Line($"| {s.Services:N0} | {s.Path} | {(s.Cold ? "cold" : "warm")} | {s.TotalMs:0.0} | {s.CpuMs:0} | {(s.ListedMs is { } l ? string.Join(" / ", l.Select(static v => v.ToString("0", CultureInfo.InvariantCulture))) : "–")} | {Ms(s.ProgramMs ?? (s.Path == "load" ? s.TotalMs : null))} | {s.HeapBeforeMb:0} → {s.HeapAfterMb:0} ({s.HeapDeltaMb:+0.0;-0.0}) | {s.WorkingSetBeforeMb:0} → {s.WorkingSetAfterMb:0} | {s.Served:N0} | {s.Routes} |");
        }

        md.AppendLine();
        if (split is not null)
        {
            Line($"## Where the time goes ({split.Services:N0} services, median of {r.Splits.Count})");
            md.AppendLine();
            md.AppendLine("| step | ms | notes |");
            md.AppendLine("|---|---:|---|");
            Line($"| HTTP: services list, {split.ServicesBytes / 1048576.0:0.0} MB | {split.ServicesHttpMs:0.0} | plain HttpClient, bytes only; the pages one after the other |");
            Line($"| HTTP: endpointslices list, {split.SlicesBytes / 1048576.0:0.0} MB | {split.SlicesHttpMs:0.0} | {split.Pages} pages of 500 in all (both kinds) |");
            Line($"| JSON: services (KubernetesJson) | {split.ServicesJsonMs:0.0} | the same bytes, through KubernetesClient's deserializer |");
            Line($"| JSON: endpointslices | {split.SlicesJsonMs:0.0} | |");
            Line($"| translate: `ServiceTranslator.TranslateAll` | {split.TranslateMs:0.0} | Services + EndpointSlices to ServiceConfig |");
            Line($"| program: `ServiceController.Replace` into an empty node | {split.ProgramMs:0.0} | ServiceTable: snapshots and Maglev tables |");
            Line($"| of which: the {split.MaglevTables:N0} Maglev tables built again, alone | {split.MaglevBuildMs:0.0} | 16,381 entries each (`MaglevTable.DefaultSize`) for 10 backends |");
            Line($"| routes: `NodeTranslator` + `RouteController.Replace` | {split.RoutesMs:0.00} | {Cluster.RemoteNodes} routes |");
            md.AppendLine();
            Line($"Memory of the programmed table: {split.ProgramHeapDeltaMb:0.0} MB of managed heap for `Replace` alone, of which {split.MaglevTables:N0} Maglev tables take {split.MaglevMb:0.0} MB (one per service family, 16,381 two-byte entries at the default size: 32 KB each).");
            md.AppendLine();
        }

        md.AppendLine("## One EndpointSlice change at that scale");
        md.AppendLine();
        md.AppendLine("| phase | changes | event → programmed p50 / p90 / p99 / max ms | upsert → programmed p50 / p90 / p99 / max ms | s | GCs gen0/1/2 | GC pause ms | allocated MB | wrong state after |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (ChurnFigures c in r.Churns)
        {
            Line($"| {c.Phase} | {c.Changes:N0} | {Lat4(c.Programmed)} | {Lat4(c.EndToEnd)} | {c.Seconds:0.0} | {c.Gen0}/{c.Gen1}/{c.Gen2} | {c.GcPauseMs:0.0} | {c.AllocatedMb:0.0} | {c.Mismatches} |");
        }

        md.AppendLine();
        md.AppendLine("By kind of change, event → programmed p50 / p90 / p99 / max ms (a removed endpoint's flows are flushed: one pass over");
        md.AppendLine("the whole conntrack table, 2^20 entries by default):");
        md.AppendLine();
        md.AppendLine("| phase | " + string.Join(" | ", r.Churns.FirstOrDefault()?.ProgrammedByChange.Keys ?? []) + " |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", r.Churns.FirstOrDefault()?.ProgrammedByChange.Count ?? 0)));
        foreach (ChurnFigures c in r.Churns)
        {
            md.AppendLine($"| {c.Phase} | " + string.Join(" | ", c.ProgrammedByChange.Values.Select(Lat4)) + " |");
        }

        md.AppendLine();
        if (busy?.Forwarding is { } fw)
        {
            md.AppendLine("## Forwarding during the churn");
            md.AppendLine();
            Line($"{fw.PacketsIn:N0} packets in {fw.Batches:N0} batches over {fw.Seconds:0.0} s ({fw.Mpps:0.00} Mpps on one thread, sharing 2 cores with the API server double, the informers and the churn), {fw.FramesOut:N0} frames out, {fw.Drops:N0} dropped; **{fw.AllocatedBytes:N0} bytes allocated** on the forwarding thread. Each batch: 32 SYNs to the churned service's VIP, one to each of {fw.OtherVips} other VIPs, one ARP reply from a remote node.");
            if (busy.Drops.Count > 0)
            {
                Line($" Drops by reason: {string.Join("; ", busy.Drops)}.");
            }

            md.AppendLine();
        }

        if (r.Problems.Count > 0)
        {
            md.AppendLine("## Problems");
            md.AppendLine();
            foreach (string problem in r.Problems)
            {
                Line($"- {problem}");
            }

            md.AppendLine();
        }

        md.AppendLine("## Machine and load");
        md.AppendLine();
        Line($"- CPU: {r.Machine.Cpu}, {r.Machine.Cores} cores; kernel {r.Machine.Kernel}; {r.Machine.DotNet} ({r.Machine.Gc} GC, as the daemon); KubernetesClient {r.Machine.KubernetesClient}");
        Line($"- load average (1, 5, 15 min): {string.Join(' ', r.LoadAtStart)} at start, {string.Join(' ', r.LoadAtEnd)} at end, 1-min at most {r.LoadMax} during the run");
        if (r.LoadMax > r.Machine.Cores)
        {
            md.AppendLine("- **the machine was busy** (1-min load above its core count at some point): every figure here is CPU time on");
            md.AppendLine("  a shared machine, and the API server double runs in the same process; every run is in the JSON");
        }

        Line($"- populating the API server double took {r.PopulateSeconds:0.0} s; process peak resident set {r.PeakWorkingSetMb:0} MB; {(r.Finished - r.Started).TotalMinutes:0.0} min in all");
        md.AppendLine();
        md.AppendLine("## How each figure is made");
        md.AppendLine();
        Line($"- The cluster: {big} ClusterIP Services (one TCP port), one EndpointSlice each of {r.EndpointsPerService} ready endpoints (pod");
        md.AppendLine("  targetRef, nodeName, zone, owner reference: the controller's shape, without managedFields, which a real server adds");
        Line($"  unless asked not to), and {Cluster.RemoteNodes + 1} Nodes. Endpoints are on the {Cluster.RemoteNodes} other nodes (host-gw routes via their InternalIPs), but the");
        md.AppendLine("  churned service's: 4 of its 10 are this node's static pods. The small run is the same at " + r.SmallServices.ToString("N0", CultureInfo.InvariantCulture) + " services.");
        md.AppendLine("- The node is wired as the daemon wires it, without I/O: `NodeDataplane` from a node config, `ClusterSync` over its");
        md.AppendLine("  ServiceController with routes applied by `RouteController.Replace`, health-check node ports following `Changed`.");
        md.AppendLine("- Informers: `ClusterInformers` over `ApiServerClient.Create` against tests/.../FakeApiServer.cs (Kestrel on 127.0.0.1,");
        md.AppendLine("  real list + watch protocol, in this process); total is from starting them to the `Programmed` event after which");
        md.AppendLine("  `ClusterSync` serves every service. \"Lists arrived\" is when each kind's complete list reached its handler (HTTP +");
        md.AppendLine("  JSON, the three kinds in parallel); \"translate + program\" is the rest. The server's list snapshot is built before");
        md.AppendLine("  the clock starts (a real API server serves from its watch cache). Cold: the first sync in the process; warm: " + r.Repeat + " more");
        md.AppendLine("  each, the median in the summary. Load: `ClusterSync.Load` with the same objects already in memory.");
        md.AppendLine("- Heap: `GC.GetTotalMemory` after a full blocking GC, before the sync (node built, no objects) and after it (node,");
        md.AppendLine("  ClusterSync, informer caches alive). Working set: `Environment.WorkingSet` (the whole process: the server double too).");
        md.AppendLine("- Churn: on the synced node (informers watching), the churned service's slice is upserted on the server in a cycle");
        md.AppendLine("  (last endpoint removed, restored, web-0 not ready, restored), each change waited for (`Programmed`) before the");
        md.AppendLine("  next and the port's backends checked after it; 20 unmeasured changes first. \"Event → programmed\" is `Programmed`'s own figure (handler entry");
        md.AppendLine("  to programmed); \"upsert → programmed\" adds the server storing and sending the event, the watch stream and its JSON.");
        md.AppendLine("- Forwarding: one thread runs the node's graph in a loop (as a worker: `Poll`, batch, `Run`, `Flush` to a counting");
        md.AppendLine("  sink) on the same `NodeDataplane`, so every change's snapshot swap lands under it; 3 s of warm-up, then");
        md.AppendLine("  `GC.GetAllocatedBytesForCurrentThread` read on the thread at the start and end of the churn. A thread's first");
        md.AppendLine("  blocking wait on a contended `System.Threading.Lock` allocates a few hundred bytes, once (measured here: 504 B, the");
        md.AppendLine("  wait subsystem's per-thread state and the lock's event; later waits 0 B). The forwarding thread blocks on conntrack's");
        md.AppendLine("  write lock when it inserts a flow while a removed endpoint's flush holds it, so a window in which that first happens");
        md.AppendLine("  shows those bytes once.");
        return md.ToString();
    }

    private static string Verdict(double? value, double goal) => value is not { } v || double.IsNaN(v) ? "–"
        : v < goal ? $"< {goal:0} ms: met" : $"< {goal:0} ms: **missed**";

    private static string Ms(double? value) => value is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "–";

    private static string Mb(double? value) => value is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "–";

    private static string Lat(Percentiles? p) => p is null ? "–" : string.Create(CultureInfo.InvariantCulture, $"{p.P50:0.00} / {p.P99:0.00} / {p.Max:0.00}");

    private static string Lat4(Percentiles p) => string.Create(CultureInfo.InvariantCulture, $"{p.P50:0.00} / {p.P90:0.00} / {p.P99:0.00} / {p.Max:0.00}");
}
