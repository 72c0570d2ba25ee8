using System.Diagnostics;
using Dataplane.Pipeline;
using Dataplane.Tests.Kubernetes;

namespace Dataplane.ApiSync;

/// <summary>Latency percentiles in milliseconds (nearest rank).</summary>
internal sealed record Percentiles(double P50, double P90, double P99, double Max)
{
    public static Percentiles Of(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        double At(double p) => sorted.Length == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 3);
        return new Percentiles(At(0.5), At(0.9), At(0.99), sorted.Length == 0 ? double.NaN : Math.Round(sorted[^1], 3));
    }
}

/// <summary>
/// One phase of churn: the churned service's EndpointSlice changed <see cref="Changes"/> times on the API server double,
/// each change waited for (ClusterSync's Programmed) before the next.
/// </summary>
/// <param name="Programmed">ClusterSync's own figure: from the watch event reaching its handler to the node programmed.</param>
/// <param name="EndToEnd">From the upsert on the server (before its JSON is stored and sent) to Programmed raised.</param>
/// <param name="Mismatches">Changes after which the churned port did not hold the expected backends.</param>
/// <param name="GcPauseMs">Time every thread stood still for the GC during the phase (the forwarding thread included).</param>
/// <param name="ProgrammedByChange">Event → programmed by kind of change: a removed endpoint also flushes its flows from conntrack.</param>
internal sealed record ChurnFigures(string Phase, int Changes, Percentiles Programmed, Percentiles EndToEnd,
    IReadOnlyDictionary<string, Percentiles> ProgrammedByChange, double Seconds, int Mismatches,
    int Gen0, int Gen1, int Gen2, double GcPauseMs, double AllocatedMb, ForwardingFigures? Forwarding, IReadOnlyList<string> Drops);

internal static class Churn
{
    // Remove the last endpoint, restore, web-0 not ready, restore: every change programs something.
    private static readonly Cluster.ChurnVariant[] s_cycle =
        [Cluster.ChurnVariant.LastRemoved, Cluster.ChurnVariant.Base, Cluster.ChurnVariant.FirstNotReady, Cluster.ChurnVariant.Base];

    /// <param name="warmup">Changes made first and not counted (a multiple of 4): the watch path's first events run cold code.</param>
    public static ChurnFigures Run(FakeApiServer server, RunningSync sync, Cluster cluster, int changes, bool forwarding, int warmup = 0)
    {
        Dictionary<Cluster.ChurnVariant, string> json = s_cycle.Distinct().ToDictionary(static v => v, cluster.ChurnSliceJson);
        Forwarder? forwarder = null;
        PipelineStats? before = null;
        if (forwarding)
        {
            forwarder = new Forwarder(sync.Node.Dataplane, cluster);
            forwarder.Start();
            forwarder.Mark(warmup: TimeSpan.FromSeconds(3));
            before = PipelineStats.From([forwarder.Graph], sync.Node.Dataplane.Ports);
            forwarder.Mark();
        }

        using var signal = new SemaphoreSlim(0);
        long programmedAt = 0;
        TimeSpan took = default;
        void OnProgrammed(TimeSpan t)
        {
            took = t;
            Volatile.Write(ref programmedAt, Stopwatch.GetTimestamp());
            signal.Release();
        }

        var programmed = new List<double>(changes);
        var byChange = s_cycle.Distinct().ToDictionary(static v => v, _ => new List<double>());
        var endToEnd = new List<double>(changes);
        int mismatches = 0;
        sync.Node.Sync.Programmed += OnProgrammed;
        for (int i = 0; i < warmup; i++)
        {
            server.UpsertJson(json[s_cycle[i % s_cycle.Length]]);
            if (!signal.Wait(TimeSpan.FromSeconds(10)))
            {
                throw new TimeoutException($"warm-up change {i} not programmed after 10 s");
            }
        }

        int[] gcBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        TimeSpan pauseBefore = GC.GetTotalPauseDuration();
        long allocatedBefore = GC.GetTotalAllocatedBytes();
        long started = Stopwatch.GetTimestamp();
        try
        {
            for (int i = 0; i < changes; i++)
            {
                Cluster.ChurnVariant variant = s_cycle[i % s_cycle.Length];
                long upsert = Stopwatch.GetTimestamp();
                server.UpsertJson(json[variant]);
                if (!signal.Wait(TimeSpan.FromSeconds(10)))
                {
                    throw new TimeoutException($"change {i} ({variant}) not programmed after 10 s");
                }

                programmed.Add(took.TotalMilliseconds);
                byChange[variant].Add(took.TotalMilliseconds);
                endToEnd.Add(Stopwatch.GetElapsedTime(upsert, Volatile.Read(ref programmedAt)).TotalMilliseconds);
                mismatches += sync.Node.ChurnedPort(cluster) == cluster.Expected(variant) ? 0 : 1;
            }
        }
        finally
        {
            sync.Node.Sync.Programmed -= OnProgrammed;
        }

        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        TimeSpan pause = GC.GetTotalPauseDuration() - pauseBefore;
        long allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
        int[] gcs = [GC.CollectionCount(0) - gcBefore[0], GC.CollectionCount(1) - gcBefore[1], GC.CollectionCount(2) - gcBefore[2]];
        ForwardingFigures? forwarded = null;
        List<string> drops = [];
        if (forwarder is not null)
        {
            forwarder.Mark();
            forwarder.Stop();
            forwarded = forwarder.Between(1, 2);
            PipelineStats after = PipelineStats.From([forwarder.Graph], sync.Node.Dataplane.Ports);
            forwarded = forwarded with { Drops = after.Drops - before!.Drops };
            drops = [.. DropsBetween(before, after)];
        }

        return new ChurnFigures(forwarding ? "with forwarding" : "quiet", changes, Percentiles.Of(programmed), Percentiles.Of(endToEnd),
            byChange.ToDictionary(static p => p.Key switch
            {
                Cluster.ChurnVariant.LastRemoved => "endpoint removed",
                Cluster.ChurnVariant.FirstNotReady => "endpoint not ready",
                _ => "endpoint added or ready again",
            }, static p => Percentiles.Of(p.Value)),
            Math.Round(seconds, 2), mismatches, gcs[0], gcs[1], gcs[2], Math.Round(pause.TotalMilliseconds, 1), SyncRuns.Mb(allocated), forwarded, drops);
    }

    private static IEnumerable<string> DropsBetween(PipelineStats before, PipelineStats after)
    {
        foreach (StageStats stage in after.Stages)
        {
            StageStats old = before.Stages.Single(s => s.Name == stage.Name);
            foreach ((string reason, long count) in stage.Drops)
            {
                long moved = count - old.Drops[reason];
                if (moved > 0)
                {
                    yield return $"{stage.Name}/{reason}: {moved:N0}";
                }
            }
        }
    }
}
