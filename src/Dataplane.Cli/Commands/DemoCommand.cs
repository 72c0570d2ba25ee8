using System.CommandLine;
using Dataplane.Config;
using Dataplane.Daemon;
using Dataplane.Demo;
using Dataplane.Model;
using Dataplane.Replay;
using Microsoft.Extensions.Logging;

namespace Dataplane.Cli.Commands;

/// <summary>
/// `dataplane demo`: a two-node cluster in namespaces on this machine with real traffic through every flow (root).
/// `dataplane demo --offline`: replays the capture shipped in examples/demo (embedded in the binary) through
/// the example node and shows what each stage did, with the traced path of every packet (no root needed).
/// </summary>
internal static class DemoCommand
{
    private const string ResourcePrefix = "demo/";

    public static Command Create()
    {
        var offline = new Option<bool>("--offline") { Description = "Replay the capture in examples/demo instead (no root, no namespaces)." };
        var output = new Option<DirectoryInfo?>("--write", "-w", "--out") { Description = "--offline: where to write output pcaps and summary.json (default: a temp directory); --out is the old name." };
        var quiet = new Option<bool>("--no-trace") { Description = "--offline: do not print each packet's path." };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "The daemon's log level.", DefaultValueFactory = _ => LogLevel.Warning };
        var cniBin = new Option<string>("--cni-bin") { Description = "Where dataplane-cni is (dotnet publish src/Dataplane.Cni -c Release -o DIR): the demo attaches a pod with it while the node runs.", DefaultValueFactory = _ => "/opt/cni/bin" };
        var command = new Command("demo", "Build a two-node cluster in network namespaces (a daemon per node, an underlay switch, a router, an external client, an internet server) and drive real traffic through every flow: container-to-container, pod-to-pod, pod-to-service, across nodes, a pod attached at run time by the CNI plugin, NodePort under both traffic policies, a load-balancer IP, pod egress masquerade.")
        {
            offline, output, quiet, logLevel, cniBin,
        };
        command.SetAction(parse => parse.GetValue(offline)
            ? RunOffline(parse.GetValue(output), !parse.GetValue(quiet))
            : RunLive(parse.GetValue(logLevel), Path.GetFullPath(parse.GetValue(cniBin)!)));
        return command;
    }

    private static int RunLive(LogLevel logLevel, string cniBin)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine("dataplane demo: needs root to create network namespaces and TAP devices (try: sudo scripts/demo.sh, or `dataplane demo --offline`)");
            return 1;
        }

        // Unwind through the demo's cleanup instead of dying with namespaces left behind.
        using var cancel = new StopSignals();
        using ILoggerFactory loggers = Logging.Create(logLevel);
        try
        {
            return DemoRunner.RunAsync(Console.Out, loggers, cniBin, cancel.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("demo: interrupted; everything it made has been removed");
            return 130;
        }
        catch (DaemonStartException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }
    }

    private static int RunOffline(DirectoryInfo? output, bool trace)
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
            // The extracted inputs are scratch either way; what the user asked to keep (--write) is outside it.
            Directory.Delete(work, recursive: true);
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
