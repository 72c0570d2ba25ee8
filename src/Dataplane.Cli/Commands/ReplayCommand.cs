using System.CommandLine;
using Dataplane.Daemon;
using Dataplane.Config;
using Dataplane.Kubernetes;
using Dataplane.Model;
using Dataplane.Replay;
using Microsoft.Extensions.Logging;

namespace Dataplane.Cli.Commands;

/// <summary>`dataplane replay`: pcap captures through the same pipeline as the daemon, offline.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        Option<FileInfo> config = ConfigOption.Create();
        var inputs = new Option<string[]>("--in", "-i")
        {
            Description = "[PORT=]FILE: frames of FILE (pcap or pcapng; Ethernet, Linux SLL or SLL2 as `tcpdump -i any` writes) arrive on PORT (a pod name, or 'uplink'). "
                + "Without PORT, --map gives each of the file's interfaces its port. Repeatable; files are merged by timestamp.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<DirectoryInfo>("--write", "-w", "--out")
        {
            Description = "Directory for <port>.pcap (what each port sent) and summary.json (every counter). --out is the old name.",
            Required = true,
        };
        var map = new Option<string[]>("--map", "-m")
        {
            Description = "IFACE=PORT: frames a pcapng file took on interface IFACE (its if_name, e.g. eth0) arrive on PORT; a number is the "
                + "interface index Linux SLL2 records carry (`tcpdump -i any`; see `ip -o link` on the node). Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var trace = new Option<bool>("--trace") { Description = "Print every packet's path through the stages." };
        var batchSize = new Option<int>("--batch-size")
        {
            Description = "Packets per vector (1-256). 1 processes strictly in timestamp order.",
            DefaultValueFactory = _ => 256,
        }.Limit(1, 256);

        var objects = new Option<FileInfo?>("--objects")
        {
            Description = "Services, EndpointSlices and Nodes of a cluster (`kubectl get svc,endpointslices,nodes -A -o yaml`), programmed as the daemon would; the config's own services: must then be empty.",
        };
        var nodeName = new Option<string?>("--node-name")
        {
            Description = "With --objects: this node's Node in the file gives what --config leaves out (name, pod CIDRs); default: the config's node.name.",
        };
        var command = new Command("replay", "Feed pcap captures through the pipeline as if they arrived on the given ports; write what each port sent.")
        {
            config, inputs, map, output, trace, batchSize, objects, nodeName,
        };
        command.SetAction(parse =>
        {
            using ILoggerFactory loggers = Logging.Create(LogLevel.Warning, LogFormat.Text, standardError: true);
            ClusterObjects? cluster = null;
            ClusterNodeIdentity? identity = null;
            if (parse.GetValue(objects) is { } objectsFile)
            {
                cluster = ClusterObjectsFile.Read(objectsFile.FullName, loggers.CreateLogger("replay"));
                if (cluster is null)
                {
                    Console.Error.WriteLine($"{objectsFile.FullName}: the objects file has errors; nothing was replayed");
                    return ConfigOption.ExitConfigError;
                }

                identity = parse.GetValue(nodeName) is { } name ? ClusterObjectsFile.Identity(cluster, name) ?? new ClusterNodeIdentity(name, null, null) : null;
            }

            NodeConfig? node = ConfigOption.Load(parse.GetValue(config)!, identity, Console.Error);
            if (node is null)
            {
                return ConfigOption.ExitConfigError;
            }

            if (cluster is not null && node.Services.Count > 0)
            {
                Console.Error.WriteLine($"{parse.GetValue(config)!.FullName}: services: come from --objects here; remove them from the config (or drop --objects)");
                return ConfigOption.ExitConfigError;
            }

            var pairs = new List<ReplayInput>();
            foreach (string pair in parse.GetValue(inputs)!)
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0)
                {
                    pairs.Add(new ReplayInput(null, pair));
                    continue;
                }

                if (eq == 0 || eq == pair.Length - 1)
                {
                    Console.Error.WriteLine($"--in {pair}: expected [PORT=]FILE, e.g. --in web-1=web-1.pcap");
                    return 1;
                }

                pairs.Add(new ReplayInput(pair[..eq], pair[(eq + 1)..]));
            }

            var interfaces = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string entry in parse.GetValue(map) ?? [])
            {
                int eq = entry.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || eq == entry.Length - 1 || !interfaces.TryAdd(entry[..eq], entry[(eq + 1)..]))
                {
                    Console.Error.WriteLine($"--map {entry}: expected IFACE=PORT, once per interface, e.g. --map eth0=web-1");
                    return 1;
                }
            }

            string outDirectory = parse.GetValue(output)!.FullName;
            ReplaySummary? summary = ReplayRun.Run(node, pairs, interfaces, outDirectory, parse.GetValue(batchSize),
                parse.GetValue(trace) ? Console.Out : null, cluster, loggers.CreateLogger("replay"), out string? error);
            if (summary is null)
            {
                Console.Error.WriteLine(error);
                return 1;
            }

            ReplayRun.Print(summary, outDirectory, Console.Out);
            return 0;
        });
        return command;
    }
}
