using System.CommandLine;
using System.Reflection;
using Dataplane.Config;
using Dataplane.Replay;

namespace Dataplane.Cli.Commands;

/// <summary>
/// `dataplane demo --offline`: replays the capture shipped in examples/demo (embedded in the binary) through
/// the example node and shows what each stage did, with the traced path of every packet.
/// </summary>
internal static class DemoCommand
{
    private const string ResourcePrefix = "demo/";

    public static Command Create()
    {
        var output = new Option<DirectoryInfo?>("--out", "-o") { Description = "Where to write the demo's output pcaps and summary.json (default: a temp directory)." };
        var quiet = new Option<bool>("--no-trace") { Description = "Do not print each packet's path." };
        var command = new Command("demo", "Run the built-in demo: a two-node example (pods, a ClusterIP service, a route) replayed offline from examples/demo.")
        {
            output, quiet,
        };
        command.SetAction(parse => Run(parse.GetValue(output), !parse.GetValue(quiet)));
        return command;
    }

    private static int Run(DirectoryInfo? output, bool trace)
    {
        string work = Path.Combine(Path.GetTempPath(), $"dataplane-demo-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        try
        {
            string configPath = Extract("node.yaml", work);
            NodeConfig config = NodeConfigLoader.Load(configPath).ThrowIfInvalid();
            var inputs = new List<ReplayInput>();
            foreach (string name in Resources().Where(static n => n.EndsWith(".pcap", StringComparison.Ordinal)))
            {
                string file = Path.GetFileName(name);
                inputs.Add(new ReplayInput(Path.GetFileNameWithoutExtension(file), Extract(file, work)));
            }

            string outDirectory = output?.FullName ?? Path.Combine(work, "out");
            Console.WriteLine($"demo: node '{config.Node.Name}' from examples/demo/node.yaml, replaying {string.Join(", ", inputs.Select(static i => $"{i.Port}.pcap"))}");
            Console.WriteLine();
            ReplaySummary? summary = ReplayRun.Run(config, inputs, outDirectory, batchSize: 1, trace ? Console.Out : null, out string? error);
            if (summary is null)
            {
                Console.Error.WriteLine(error);
                return 1;
            }

            Console.WriteLine();
            ReplayRun.Print(summary, outDirectory, Console.Out);
            return 0;
        }
        finally
        {
            if (output is null)
            {
                // Keep only what the user asked to keep.
                Directory.Delete(work, recursive: true);
            }
        }
    }

    private static IEnumerable<string> Resources() => typeof(DemoCommand).Assembly.GetManifestResourceNames()
        .Where(static n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal);

    private static string Extract(string name, string directory)
    {
        using Stream stream = typeof(DemoCommand).Assembly.GetManifestResourceStream(ResourcePrefix + name)
            ?? throw new InvalidOperationException($"the demo resource '{name}' is missing from this build");
        string path = Path.Combine(directory, name);
        using FileStream file = File.Create(path);
        stream.CopyTo(file);
        return path;
    }
}
