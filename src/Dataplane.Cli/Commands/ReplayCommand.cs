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
            Description = "PORT=FILE: frames of FILE (pcap or pcapng) arrive on PORT (a pod name, or 'uplink'). Repeatable; files are merged by timestamp.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<DirectoryInfo>("--write", "-w", "--out")
        {
            Description = "Directory for <port>.pcap (what each port sent) and summary.json (every counter). --out is the old name.",
            Required = true,
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
            config, inputs, output, trace, batchSize,
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
                if (eq <= 0 || eq == pair.Length - 1)
                {
                    Console.Error.WriteLine($"--in {pair}: expected PORT=FILE, e.g. --in web-1=web-1.pcap");
                    return 1;
                }

                pairs.Add(new ReplayInput(pair[..eq], pair[(eq + 1)..]));
            }

            string outDirectory = parse.GetValue(output)!.FullName;
            ReplaySummary? summary = ReplayRun.Run(node, pairs, outDirectory, parse.GetValue(batchSize),
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
