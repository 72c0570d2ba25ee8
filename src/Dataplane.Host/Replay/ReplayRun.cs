using System.Text.Json;
using System.Text.Json.Serialization;
using Dataplane.Config;
using Dataplane.Io.Pcap;
using Dataplane.Kubernetes;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataplane.Replay;

/// <summary>One `--in [PORT=]FILE`: without a port, every interface of the file needs a `--map` entry.</summary>
public sealed record ReplayInput(string? Port, string Path);

/// <summary>What `dataplane replay` produced: written to summary.json and printed.</summary>
public sealed record ReplaySummary(
    string Node,
    IReadOnlyList<ReplayInputSummary> Inputs,
    long FramesRead,
    long FramesTooLarge,
    IReadOnlyList<ReplayOutputSummary> Outputs,
    PipelineStats Stats)
{
    /// <summary>Records read although they break the pcap rules, as libpcap reads them (cut to the snaplen, or caplen above len).</summary>
    public PcapRepairs Repaired { get; init; }

    /// <summary>Records not replayed: their interface has no port, or a cooked record carries no EtherType.</summary>
    public ReplaySkipped Skipped { get; init; }
}

public readonly record struct ReplaySkipped(long UnmappedInterface, long NotEthernet);

public sealed record ReplayInputSummary(string? Port, string File, long Frames);

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
        => Run(config, inputs, new Dictionary<string, string>(), outDirectory, batchSize, trace, out error);

    /// <summary>Runs the replay; <paramref name="interfaceMap"/> sends the records of capture interfaces (by name) to ports (`--map eth0=web-1`).</summary>
    public static ReplaySummary? Run(NodeConfig config, IReadOnlyList<ReplayInput> inputs, IReadOnlyDictionary<string, string> interfaceMap,
        string outDirectory, int batchSize, TextWriter? trace, out string? error)
        => Run(config, inputs, interfaceMap, outDirectory, batchSize, trace, objects: null, NullLogger.Instance, out error);

    /// <summary>
    /// Runs the replay with the services and routes of a cluster (<c>--objects</c>), programmed before the first
    /// frame exactly as the daemon programs them; <paramref name="logger"/> hears the objects' warnings.
    /// </summary>
    public static ReplaySummary? Run(NodeConfig config, IReadOnlyList<ReplayInput> inputs, IReadOnlyDictionary<string, string> interfaceMap,
        string outDirectory, int batchSize, TextWriter? trace, ClusterObjects? objects, ILogger logger, out string? error)
    {
        var engine = new ReplayEngine(config, batchSize);
        if (objects is not null)
        {
            new ClusterSync(config.Node.Name, config.Node, engine.Dataplane.ServiceController, engine.Dataplane.Routes.Replace, logger, "--objects").Load(objects);
        }

        var files = new List<ReplayFile>();
        error = OpenInputs(engine, inputs, interfaceMap, files);
        if (error is not null)
        {
            foreach (ReplayFile opened in files)
            {
                opened.Source.Dispose();
            }

            return null;
        }

        if (!ReplayOutputDirectory.TryCreate(outDirectory, out ReplayOutputDirectory? output, out error))
        {
            foreach (ReplayFile opened in files)
            {
                opened.Source.Dispose();
            }

            return null;
        }

        PortMacs[] macs = [.. engine.Dataplane.Ports.Select(p => p.Kind == PortKind.Uplink
            ? new PortMacs(SyntheticUplinkPeer, p.Mac)
            : new PortMacs(p.Mac, config.Node.Mac))];
        using var source = new PcapReplaySource(files, macs);
        try
        {
            var writers = new PcapPortWriters(output, engine.Dataplane.Ports.Current);
            try
            {
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
            }
            finally
            {
                // Closing flushes: a full file system fails here, before a summary claims the outputs are whole.
                writers.Dispose();
            }

            if (source.Failure is { } failure)
            {
                output.Discard();
                error = failure.ToString();
                return null;
            }

            var summary = new ReplaySummary(
                config.Node.Name,
                inputs.Select((input, i) => new ReplayInputSummary(input.Port, input.Path, files[i].Source.RecordsRead)).ToList(),
                engine.FramesRead,
                engine.FramesTooLarge,
                writers.Written.Select(static w => new ReplayOutputSummary(w.Port, w.Path, w.Packets)).ToList(),
                engine.Stats())
            {
                Repaired = files.Aggregate(default(PcapRepairs), static (sum, f) => sum + f.Source.Repairs),
                Skipped = new ReplaySkipped(source.SkippedUnmapped, source.SkippedNotEthernet),
            };
            File.WriteAllText(output.File("summary.json"), JsonSerializer.Serialize(summary, JsonOptions));
            error = null;
            return summary;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            output.Discard();
            error = $"{outDirectory}: cannot write the replay's output: {e.Message}";
            return null;
        }
    }

    /// <summary>The human report: per-port counts, outputs, and every non-zero drop reason.</summary>
    public static void Print(ReplaySummary summary, string outDirectory, TextWriter output)
    {
        output.WriteLine($"node {summary.Node}: replayed {summary.FramesRead} frames from {summary.Inputs.Count} file(s)"
            + (summary.FramesTooLarge > 0 ? $", {summary.FramesTooLarge} too large for a buffer (skipped)" : ""));
        if (summary.Repaired.TruncatedToSnaplen + summary.Repaired.CaplenOverLen > 0)
        {
            output.WriteLine($"  read as libpcap does: {summary.Repaired.TruncatedToSnaplen} record(s) cut to the snaplen, {summary.Repaired.CaplenOverLen} with caplen > len");
        }

        if (summary.Skipped.UnmappedInterface + summary.Skipped.NotEthernet > 0)
        {
            output.WriteLine($"  skipped: {summary.Skipped.UnmappedInterface} record(s) of interfaces without a port, {summary.Skipped.NotEthernet} cooked record(s) without an EtherType");
        }
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

    /// <summary>Source MAC of cooked uplink records that carry no Ethernet address: a locally administered stand-in for the peer node.</summary>
    public static readonly MacAddress SyntheticUplinkPeer = new(0x0200_0000_00FEUL);

    private static string? OpenInputs(ReplayEngine engine, IReadOnlyList<ReplayInput> inputs, IReadOnlyDictionary<string, string> interfaceMap, List<ReplayFile> files)
    {
        string portList = string.Join(", ", engine.Dataplane.Ports.Select(static p => p.Name));
        var portByInterface = new Dictionary<string, ushort>(StringComparer.Ordinal);
        var portByIfIndex = new Dictionary<int, ushort>();
        foreach ((string name, string portName) in interfaceMap)
        {
            if (!engine.Dataplane.TryGetPort(portName, out Port mapped))
            {
                return $"--map {name}={portName}: no port named '{portName}' (ports: {portList})";
            }

            // A number is the interface index of Linux SLL2 records (`tcpdump -i any` writes no interface names).
            if (int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int ifIndex))
            {
                portByIfIndex[ifIndex] = mapped.Id;
            }
            else
            {
                portByInterface[name] = mapped.Id;
            }
        }

        foreach (ReplayInput input in inputs)
        {
            ushort? defaultPort = null;
            if (input.Port is not null)
            {
                if (!engine.Dataplane.TryGetPort(input.Port, out Port port))
                {
                    return $"--in {input.Port}={input.Path}: no port named '{input.Port}' (ports: {portList})";
                }

                defaultPort = port.Id;
            }

            if (!PcapFiles.TryOpen(input.Path, out IPcapSource? source, out PcapFileError? openError))
            {
                return openError!.ToString();
            }

            files.Add(new ReplayFile(source, defaultPort, portByInterface, portByIfIndex));
            if (defaultPort is null)
            {
                for (int i = 0; i < source.Interfaces.Count; i++)
                {
                    PcapInterface iface = source.Interfaces[i];
                    bool byIndex = iface.LinkType == LinkTypes.LINKTYPE_LINUX_SLL2 && portByIfIndex.Count > 0;
                    if (!byIndex && (iface.Name is null || !portByInterface.ContainsKey(iface.Name)))
                    {
                        return $"--in {input.Path}: interface {i}{(iface.Name is null ? " (no name)" : $" '{iface.Name}'")} has no port: "
                            + (iface.Name is null ? "give the file one with --in PORT=FILE" : $"add --map {iface.Name}=PORT or give the file one with --in PORT=FILE");
                    }
                }
            }
        }

        var known = files.SelectMany(static f => f.Source.Interfaces).Select(static i => i.Name).OfType<string>().ToHashSet(StringComparer.Ordinal);
        if (portByIfIndex.Count > 0 && !files.Any(static f => f.Source.Interfaces.Any(static i => i.LinkType == LinkTypes.LINKTYPE_LINUX_SLL2)))
        {
            string numeric = interfaceMap.Keys.First(static k => k.All(char.IsAsciiDigit));
            return $"--map {numeric}={interfaceMap[numeric]}: a number maps the interface index of Linux SLL2 records, but no input is SLL2";
        }

        foreach (string name in portByInterface.Keys)
        {
            if (!known.Contains(name))
            {
                return $"--map {name}={interfaceMap[name]}: no input has an interface named '{name}' (interfaces: {(known.Count == 0 ? "none named" : string.Join(", ", known.Order(StringComparer.Ordinal)))})";
            }
        }

        return null;
    }
}
