using System.CommandLine;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Replay;

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
        };
        batchSize.Validators.Add(r =>
        {
            if (r.GetValue(batchSize) is < 1 or > 256)
            {
                r.AddError("--batch-size must be 1..256");
            }
        });

        var command = new Command("replay", "Feed pcap captures through the pipeline as if they arrived on the given ports; write what each port sent.")
        {
            config, inputs, map, output, trace, batchSize,
        };
        command.SetAction(parse =>
        {
            NodeConfig? node = ConfigOption.Load(parse.GetValue(config)!, Console.Error);
            if (node is null)
            {
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
                parse.GetValue(trace) ? Console.Out : null, out string? error);
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
