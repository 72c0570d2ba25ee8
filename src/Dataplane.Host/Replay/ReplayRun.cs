using System.Text.Json;
using System.Text.Json.Serialization;
using Dataplane.Config;
using Dataplane.Io.Pcap;
using Dataplane.Model;
using Dataplane.Pipeline;

namespace Dataplane.Replay;

/// <summary>One `--in port=file` pair.</summary>
public sealed record ReplayInput(string Port, string Path);

/// <summary>What `dataplane replay` produced: written to summary.json and printed.</summary>
public sealed record ReplaySummary(
    string Node,
    IReadOnlyList<ReplayInputSummary> Inputs,
    long FramesRead,
    long FramesTooLarge,
    IReadOnlyList<ReplayOutputSummary> Outputs,
    PipelineStats Stats);

public sealed record ReplayInputSummary(string Port, string File, long Frames);

public sealed record ReplayOutputSummary(string Port, string File, long Frames);

/// <summary>
/// `dataplane replay` end to end: opens the captures, runs them through a <see cref="ReplayEngine"/>, writes
/// one pcap per port that sent something and summary.json, and reports. Errors in the inputs come back as
/// messages naming the file (and record), never as a half-written output.
/// </summary>
public static class ReplayRun
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Runs the replay. Returns the summary, or null with <paramref name="error"/> set.</summary>
    public static ReplaySummary? Run(NodeConfig config, IReadOnlyList<ReplayInput> inputs, string outDirectory, int batchSize,
        TextWriter? trace, out string? error)
    {
        var engine = new ReplayEngine(config, batchSize);
        var sources = new List<(ushort, IPcapSource)>();
        error = OpenInputs(engine, inputs, sources);
        if (error is not null)
        {
            foreach ((_, IPcapSource opened) in sources)
            {
                opened.Dispose();
            }

            return null;
        }

        Directory.CreateDirectory(outDirectory);
        using var source = new PcapReplaySource(sources);
        using var writers = new PcapPortWriters(outDirectory, engine.Dataplane.Ports);
        var sink = new PcapPortWriters.Sink(writers);
        if (trace is not null)
        {
            engine.Graph.Tracer.Arm(int.MaxValue);
        }

        engine.Run(source, ref sink, trace is null ? null : graph =>
        {
            trace.Write(TraceFormatter.Format(graph, engine.Dataplane.Ports));
            graph.Tracer.Clear();
        });

        if (source.Failure is { } failure)
        {
            error = failure.ToString();
            return null;
        }

        var summary = new ReplaySummary(
            config.Node.Name,
            inputs.Select((input, i) => new ReplayInputSummary(input.Port, input.Path, sources[i].Item2.RecordsRead)).ToList(),
            engine.FramesRead,
            engine.FramesTooLarge,
            writers.Written.Select(static w => new ReplayOutputSummary(w.Port, w.Path, w.Packets)).ToList(),
            engine.Stats());
        File.WriteAllText(Path.Combine(outDirectory, "summary.json"), JsonSerializer.Serialize(summary, JsonOptions));
        error = null;
        return summary;
    }

    /// <summary>The human report: per-port counts, outputs, and every non-zero drop reason.</summary>
    public static void Print(ReplaySummary summary, string outDirectory, TextWriter output)
    {
        output.WriteLine($"node {summary.Node}: replayed {summary.FramesRead} frames from {summary.Inputs.Count} file(s)"
            + (summary.FramesTooLarge > 0 ? $", {summary.FramesTooLarge} too large for a buffer (skipped)" : ""));
        output.WriteLine();
        output.WriteLine($"  {"port",-14} {"kind",-7} {"rx",8} {"tx",8}  output");
        foreach (PortStats port in summary.Stats.Ports)
        {
            string file = summary.Outputs.FirstOrDefault(o => o.Port == port.Name)?.File ?? "-";
            output.WriteLine($"  {port.Name,-14} {port.Kind,-7} {port.RxPackets,8} {port.TxPackets,8}  {file}");
        }

        output.WriteLine();
        output.WriteLine($"  {"stage",-17} {"packets",8}  drops and events");
        foreach (StageStats stage in summary.Stats.Stages)
        {
            if (stage.Packets == 0)
            {
                continue;
            }

            IEnumerable<string> notes = stage.Drops.Where(static d => d.Value > 0).Select(static d => $"drop {d.Key} {d.Value}")
                .Concat(stage.Events.Where(static e => e.Value > 0).Select(static e => $"{e.Key} {e.Value}"));
            output.WriteLine($"  {stage.Name,-17} {stage.Packets,8}  {string.Join(", ", notes)}".TrimEnd());
        }

        output.WriteLine();
        output.WriteLine($"  {summary.Stats.Drops} dropped in all; counters in {Path.Combine(outDirectory, "summary.json")}");
    }

    private static string? OpenInputs(ReplayEngine engine, IReadOnlyList<ReplayInput> inputs, List<(ushort, IPcapSource)> sources)
    {
        foreach (ReplayInput input in inputs)
        {
            if (!engine.Dataplane.TryGetPort(input.Port, out Port port))
            {
                return $"--in {input.Port}={input.Path}: no port named '{input.Port}' (ports: {string.Join(", ", engine.Dataplane.Ports.Select(static p => p.Name))})";
            }

            if (!PcapFiles.TryOpen(input.Path, out IPcapSource? source, out PcapFileError? openError))
            {
                return openError!.ToString();
            }

            sources.Add((port.Id, source!));
        }

        return null;
    }
}
