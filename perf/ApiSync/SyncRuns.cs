using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Dataplane.Kubernetes;
using Dataplane.Model;
using Dataplane.Tables;
using Dataplane.Tests.Kubernetes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataplane.ApiSync;

/// <summary>One initial sync: how long, where the time went, and what it left on the heap.</summary>
/// <param name="Path">"informers" (list over HTTP from the API server double) or "load" (<see cref="ClusterSync.Load"/>, no HTTP).</param>
/// <param name="TotalMs">informers: from starting them to every service in the ServiceTable; load: the call.</param>
/// <param name="ListedMs">informers: when each kind's complete list reached its handler (services, endpointslices, nodes).</param>
/// <param name="ProgramMs">informers: from the last list's arrival to programmed (translate + program, in ClusterSync).</param>
/// <param name="HeapDeltaMb">Managed heap after a full GC, after minus before: what the node holds for the cluster.</param>
/// <param name="CpuMs">CPU time of the whole process meanwhile (all threads; for the informers, the API server double's too).</param>
internal sealed record SyncFigures(string Path, int Services, int Endpoints, bool Cold, double TotalMs, double CpuMs, double[]? ListedMs, double? ProgramMs,
    double HeapBeforeMb, double HeapAfterMb, double HeapDeltaMb, double WorkingSetBeforeMb, double WorkingSetAfterMb, int Served, int Routes,
    int Warnings);

/// <summary>The 10,000-service sync taken apart: the wire (HTTP bytes, then JSON), translation, programming.</summary>
internal sealed record SplitFigures(int Services, double ServicesHttpMs, double SlicesHttpMs, double ServicesJsonMs, double SlicesJsonMs,
    long ServicesBytes, long SlicesBytes, int Pages, double TranslateMs, double ProgramMs, double MaglevBuildMs, double RoutesMs,
    double ProgramHeapDeltaMb, int MaglevTables, double MaglevMb);

internal static class SyncRuns
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromMinutes(2);

    public static double Mb(long bytes) => Math.Round(bytes / 1048576.0, 1);

    /// <summary>The managed heap after a full, blocking GC (finalizers run, then collected again).</summary>
    public static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>
    /// The daemon's path: the three informers (client-go's pager, 500 a page) over a fresh client, handlers into a fresh
    /// node's ClusterSync. The node is returned running, its informers watching: the caller disposes it (after this
    /// method's frame, which holds the node too, is gone).
    /// </summary>
    public static async Task<(SyncFigures Figures, RunningSync Running)> InformersAsync(FakeApiServer server, Cluster cluster, bool cold)
    {
        var node = new NodeUnderTest(server.BaseUri.ToString());
        IKubernetes client = server.CreateClient();
        var services = new TimedHandler<V1Service>(node.Sync.Services);
        var slices = new TimedHandler<V1EndpointSlice>(node.Sync.EndpointSlices);
        var nodes = new TimedHandler<V1Node>(node.Sync.Nodes);
        var informers = new ClusterInformers(client, services, slices, nodes, NullLoggerFactory.Instance);
        var programmed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Sync.Programmed += _ =>
        {
            if (!programmed.Task.IsCompleted && node.Sync.Status().ServedServices >= cluster.ServiceCount)
            {
                programmed.TrySetResult(Stopwatch.GetTimestamp());
            }
        };

        long heapBefore = node.HeapWithoutOthers();
        long workingSetBefore = Environment.WorkingSet;
        var stop = new CancellationTokenSource();
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        services.Start = slices.Start = nodes.Start = start;
        Task running = Task.Run(() => informers.RunAsync(stop.Token));
        long end = await programmed.Task.WaitAsync(s_deadline);
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds;
        double total = Stopwatch.GetElapsedTime(start, end).TotalMilliseconds;
        double[] listed = [services.ListedMs ?? double.NaN, slices.ListedMs ?? double.NaN, nodes.ListedMs ?? double.NaN];
        long heapAfter = Heap();
        long workingSetAfter = Environment.WorkingSet;
        ClusterSyncStatus status = node.Sync.Status();
        var figures = new SyncFigures("informers", cluster.ServiceCount, cluster.EndpointCount, cold, Math.Round(total, 1), Math.Round(cpu), [.. listed.Select(static l => Math.Round(l, 1))],
            Math.Round(total - listed.Max(), 1), SyncRuns.Mb(heapBefore), SyncRuns.Mb(heapAfter), SyncRuns.Mb(heapAfter - heapBefore),
            SyncRuns.Mb(workingSetBefore), SyncRuns.Mb(workingSetAfter), status.ServedServices, status.Routes, status.RecentWarnings.Count);
        return (figures, new RunningSync(node, client, running, stop));
    }

    /// <summary>An objects file's path: <see cref="ClusterSync.Load"/> with the objects already in memory (no HTTP, no JSON).</summary>
    public static SyncFigures Load(Cluster cluster, bool cold)
    {
        using var node = new NodeUnderTest("objects");
        long heapBefore = node.HeapWithoutOthers();
        long workingSetBefore = Environment.WorkingSet;
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        node.Sync.Load(cluster.Objects);
        double total = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds;
        long heapAfter = Heap();
        long workingSetAfter = Environment.WorkingSet;
        ClusterSyncStatus status = node.Sync.Status();
        GC.KeepAlive(node);
        return new SyncFigures("load", cluster.ServiceCount, cluster.EndpointCount, cold, Math.Round(total, 1), Math.Round(cpu), null, null,
            Mb(heapBefore), Mb(heapAfter), Mb(heapAfter - heapBefore), Mb(workingSetBefore), Mb(workingSetAfter), status.ServedServices, status.Routes,
            status.RecentWarnings.Count);
    }

    /// <summary>
    /// Each step of the sync alone: the list pages over plain HTTP (bytes only, one kind after the other), the same bytes
    /// through KubernetesClient's JSON, <see cref="ServiceTranslator.TranslateAll(ClusterObjects)"/>, then
    /// <see cref="Control.ServiceController.Replace"/> of the translations into a fresh node (and its heap).
    /// </summary>
    public static async Task<SplitFigures> SplitAsync(FakeApiServer server, Cluster cluster)
    {
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        (double servicesHttp, List<byte[]> servicePages) = await FetchAsync(http, "api/v1/services");
        (double slicesHttp, List<byte[]> slicePages) = await FetchAsync(http, "apis/discovery.k8s.io/v1/endpointslices");
        double servicesJson = Time(() => Deserialize<V1ServiceList>(servicePages));
        double slicesJson = Time(() => Deserialize<V1EndpointSliceList>(slicePages));

        IReadOnlyList<ServiceTranslation> translations = [];
        double translate = Time(() => translations = ServiceTranslator.TranslateAll(cluster.Objects));
        List<ServiceConfig> configs = [.. translations.Select(static t => t.Service).OfType<ServiceConfig>()];
        using var node = new NodeUnderTest("split");
        double routes = Time(() => node.Dataplane.Routes.Replace(NodeTranslator.Translate(cluster.Objects.Nodes, Cluster.SelfNode, node.Dataplane.Config.Node).Routes));
        long heapBefore = node.HeapWithoutOthers();
        double program = Time(() => node.Dataplane.ServiceController.Replace(configs, "split"));
        long heapAfter = Heap();
        if (node.Dataplane.Services.ServiceNames.Count != cluster.ServiceCount)
        {
            throw new InvalidOperationException($"split: {node.Dataplane.Services.ServiceNames.Count} services programmed, not {cluster.ServiceCount}");
        }

        (int tables, long maglevBytes) = node.MaglevTables();

        // The programmed ports' Maglev tables built again, alone: the part of "program" they take.
        double maglevBuild = Time(() =>
        {
            foreach (ServicePort port in node.Dataplane.Services.Ports)
            {
                if (port.Maglev is { } table)
                {
                    GC.KeepAlive(MaglevTable.Build(port.Backends, table.Size));
                }
            }
        });
        return new SplitFigures(cluster.ServiceCount, Math.Round(servicesHttp, 1), Math.Round(slicesHttp, 1), Math.Round(servicesJson, 1),
            Math.Round(slicesJson, 1), servicePages.Sum(static p => (long)p.Length), slicePages.Sum(static p => (long)p.Length),
            servicePages.Count + slicePages.Count, Math.Round(translate, 1), Math.Round(program, 1), Math.Round(maglevBuild, 1), Math.Round(routes, 2), Mb(heapAfter - heapBefore),
            tables, Mb(maglevBytes));
    }

    private static double Time(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static async Task<(double Ms, List<byte[]> Pages)> FetchAsync(HttpClient http, string path)
    {
        var pages = new List<byte[]>();
        string? next = null;
        long start = Stopwatch.GetTimestamp();
        do
        {
            byte[] body = await http.GetByteArrayAsync($"{path}?limit=500{(next is null ? "" : "&continue=" + Uri.EscapeDataString(next))}");
            pages.Add(body);
            next = ContinueOf(body);
        }
        while (next is not null);

        return (Stopwatch.GetElapsedTime(start).TotalMilliseconds, pages);
    }

    // The double writes the list's metadata first: {"kind":..,"apiVersion":..,"metadata":{"resourceVersion":..,"continue":"..."
    private static string? ContinueOf(byte[] body)
    {
        Match match = Regex.Match(Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 1024)), "\"metadata\":\\{[^}]*\"continue\":\"([^\"]+)\"");
        return match.Success ? match.Groups[1].Value : null;
    }

    private static void Deserialize<TList>(List<byte[]> pages)
    {
        foreach (byte[] page in pages)
        {
            using var stream = new MemoryStream(page, writable: false);
            GC.KeepAlive(KubernetesJson.Deserialize<TList>(stream));
        }
    }

    /// <summary>Passes every call on, noting when the first complete list arrived.</summary>
    private sealed class TimedHandler<T>(IResourceHandler<T> inner) : IResourceHandler<T>
    {
        public long Start { get; set; }

        public double? ListedMs { get; private set; }

        public void Synced(IReadOnlyList<T> all)
        {
            ListedMs ??= Stopwatch.GetElapsedTime(Start).TotalMilliseconds;
            inner.Synced(all);
        }

        public void Upserted(T obj) => inner.Upserted(obj);

        public void Deleted(T obj) => inner.Deleted(obj);
    }
}

/// <summary>
/// A node synced over the informers and still watching: what the churn runs against. Disposing stops the informers and
/// lets go of everything, as whoever holds this object (an async method's spilled temporary, say) may hold it long after.
/// </summary>
internal sealed class RunningSync(NodeUnderTest node, IKubernetes client, Task running, CancellationTokenSource stop) : IAsyncDisposable
{
    private NodeUnderTest? _node = node;
    private IKubernetes? _client = client;
    private Task? _running = running;
    private CancellationTokenSource? _stop = stop;

    public NodeUnderTest Node => _node ?? throw new ObjectDisposedException(nameof(RunningSync));

    public async ValueTask DisposeAsync()
    {
        if (_node is null)
        {
            return;
        }

        await _stop!.CancelAsync();
        await _running!.WaitAsync(TimeSpan.FromSeconds(15));
        _client!.Dispose();
        _stop.Dispose();
        _node.Dispose();
        (_node, _client, _running, _stop) = (null, null, null, null);

        // The informers' last task completes on the thread that unwound their watches, and the awaits above continue
        // inline on it: leave that stack, whose frames still hold the node.
        await Task.Yield();
    }
}
