namespace Dataplane.Pipeline;

/// <summary>One stage's counters summed over workers. Every drop reason and event appears, zero or not.</summary>
public sealed record StageStats(
    string Name,
    long Packets,
    long Bytes,
    IReadOnlyDictionary<string, long> Drops,
    IReadOnlyDictionary<string, long> Events);

public sealed record PortStats(string Name, string Kind, long RxPackets, long RxBytes, long TxPackets, long TxBytes, long TxErrors, long RxDrops = 0);

/// <summary>
/// A point-in-time copy of every counter of every worker, summed: what `replay` writes to summary.json and
/// `ctl stats` prints.
/// </summary>
public sealed record PipelineStats(
    long Batches,
    long Packets,
    long Drops,
    IReadOnlyList<StageStats> Stages,
    IReadOnlyList<PortStats> Ports)
{
    public static PipelineStats From(IReadOnlyList<Graph> workers, PortTable ports)
    {
        Graph first = workers[0];
        var stages = new List<StageStats>(first.Nodes.Count);
        long drops = 0;
        for (int n = 0; n < first.Nodes.Count; n++)
        {
            Node template = first.Nodes[n];
            long packets = 0, bytes = 0;
            long[] dropCounts = new long[template.DropReasons.Count];
            long[] eventCounts = new long[template.Events.Count];
            foreach (Graph worker in workers)
            {
                NodeCounters counters = worker.Nodes[n].Counters;
                packets += counters.Packets;
                bytes += counters.Bytes;
                for (int d = 0; d < dropCounts.Length; d++)
                {
                    dropCounts[d] += counters.Drops[d];
                }

                for (int e = 0; e < eventCounts.Length; e++)
                {
                    eventCounts[e] += counters.Events[e];
                }
            }

            drops += dropCounts.Sum();
            stages.Add(new StageStats(
                template.Name,
                packets,
                bytes,
                template.DropReasons.Select((r, i) => (r.Name, dropCounts[i])).ToDictionary(),
                template.Events.Select((r, i) => (r.Name, eventCounts[i])).ToDictionary()));
        }

        var portStats = new List<PortStats>(ports.Count);
        long received = 0;
        foreach (Port port in ports)
        {
            var sum = default(PortCounters);
            foreach (Graph worker in workers)
            {
                sum.Add(worker.PortCounters[port.Id]);
            }

            received += sum.RxPackets;
            portStats.Add(new PortStats(port.Name, port.Kind.ToString().ToLowerInvariant(), sum.RxPackets, sum.RxBytes, sum.TxPackets, sum.TxBytes, sum.TxErrors, sum.RxDrops));
        }

        return new PipelineStats(workers.Sum(static w => w.Batches), received, drops, stages, portStats);
    }
}
