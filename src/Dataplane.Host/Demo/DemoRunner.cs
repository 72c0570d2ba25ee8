using System.Diagnostics;
using System.Net;
using Dataplane.Daemon;
using Dataplane.Pipeline;
using Microsoft.Extensions.Logging;

namespace Dataplane.Demo;

/// <summary>One flow the demo drove, and whether it worked.</summary>
public sealed record DemoStep(string Flow, string What, bool Ok, string Detail);

/// <summary>
/// `dataplane demo`: builds a node in namespaces (<see cref="DemoTopology"/>), starts the daemon on it, drives
/// real traffic through the seed article's flows with real tools, prints what happened, and removes it all,
/// also when interrupted.
/// </summary>
public static class DemoRunner
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <param name="cniBin">Where `dataplane-cni` is (published from src/Dataplane.Cni): the run-time pod's flow uses it.</param>
    public static async Task<int> RunAsync(TextWriter output, ILoggerFactory loggers, string cniBin, CancellationToken cancel)
    {
        output.WriteLine("demo: building a node in network namespaces (pods client, web-1..3; service web 10.96.0.10:80; node-b behind the uplink)");
        using var topology = new DemoTopology();
        using NodeDaemon daemon = NodeDaemon.Start(topology.Config, new DaemonOptions(topology.NodeNamespace), loggers);
        var servers = DemoTopology.Backends.Select(b => new PodServer(topology.PodNamespace(b), b, DemoTopology.TargetPort)).ToList();
        var steps = new List<DemoStep>();
        try
        {
            steps.Add(await ContainerToContainerAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await PingAsync("2. pod-to-pod (bridged)", topology, "client", topology.PodIp("web-1"), cancel).ConfigureAwait(false));
            steps.Add(await PingAsync("   pod-to-gateway", topology, "client", "10.244.1.1", cancel).ConfigureAwait(false));
            steps.Add(await ServiceAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await PingAsync("4. pod-to-pod across nodes (routed, uplink)", topology, "client", DemoTopology.RemotePod, cancel).ConfigureAwait(false));
            steps.Add(await DemoCniPod.RunAsync(topology, cniBin, daemon.ControlSocketPath, cancel).ConfigureAwait(false));
            steps.Add(await KernelUntouchedAsync(topology, cancel).ConfigureAwait(false));
        }
        finally
        {
            foreach (PodServer server in servers)
            {
                server.Dispose();
            }
        }

        output.WriteLine();
        output.WriteLine($"  {"flow",-44} {"result",-6} detail");
        foreach (DemoStep step in steps)
        {
            output.WriteLine($"  {step.Flow,-44} {(step.Ok ? "ok" : "FAIL"),-6} {step.What}: {step.Detail}");
        }

        PipelineStats stats = daemon.Stats();
        output.WriteLine();
        output.WriteLine($"  the pipeline saw {stats.Packets} frames and dropped {stats.Drops}:");
        foreach (StageStats stage in stats.Stages)
        {
            foreach ((string reason, long count) in stage.Drops.Where(static d => d.Value > 0))
            {
                output.WriteLine($"    {stage.Name}/{reason}: {count}");
            }
        }

        output.WriteLine($"  conntrack: {daemon.Dataplane.Conntrack.Count} flows tracked");
        output.WriteLine();
        output.WriteLine("demo: stopping the daemon and removing its TAPs and namespaces");
        return steps.All(static s => s.Ok) ? 0 : 1;
    }

    /// <summary>Two processes in the client pod talking over its loopback: the pod's own stack, no dataplane involved.</summary>
    private static async Task<DemoStep> ContainerToContainerAsync(DemoTopology topology, CancellationToken cancel)
    {
        const string Flow = "1. container-to-container (localhost)";
        string ns = topology.PodNamespace("client");
        using Process server = Start("ip", "netns", "exec", ns, "nc", "-l", "127.0.0.1", "9000");
        string sent = $"hello from container A {Environment.ProcessId}";
        // nc -l may not be listening yet: retry the client until the deadline.
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline && !server.HasExited)
        {
            (int code, _) = await RunAsync(cancel, "ip", "netns", "exec", ns, "sh", "-c", $"echo '{sent}' | nc -N 127.0.0.1 9000").ConfigureAwait(false);
            if (code == 0)
            {
                break;
            }

            await Task.Delay(100, cancel).ConfigureAwait(false);
        }

        string received = (await ReadToEndAsync(server, cancel).ConfigureAwait(false)).Trim();
        return new DemoStep(Flow, "nc -l and nc in pod client", received == sent, received == sent ? "message received over 127.0.0.1" : $"got '{received}'");
    }

    private static async Task<DemoStep> PingAsync(string flow, DemoTopology topology, string pod, string target, CancellationToken cancel)
    {
        (int code, string text) = await RunAsync(cancel, "ip", "netns", "exec", topology.PodNamespace(pod), "ping", "-c", "3", "-i", "0.2", "-W", "2", target).ConfigureAwait(false);
        string summary = text.Split('\n').FirstOrDefault(static l => l.Contains("received", StringComparison.Ordinal))?.Trim() ?? text.Trim();
        return new DemoStep(flow, $"ping {target} from {pod}", code == 0, summary);
    }

    /// <summary>Connections to the ClusterIP; each answer names the backend pod that served it.</summary>
    private static async Task<DemoStep> ServiceAsync(DemoTopology topology, CancellationToken cancel)
    {
        const int Connections = 30;
        var served = new Dictionary<string, int>(StringComparer.Ordinal);
        int failed = 0;
        for (int i = 0; i < Connections; i++)
        {
            try
            {
                string backend = await PodServer.AskAsync(topology.PodNamespace("client"), IPAddress.Parse(DemoTopology.Vip), DemoTopology.ServicePort, Timeout).ConfigureAwait(false);
                served[backend] = served.GetValueOrDefault(backend) + 1;
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or OperationCanceledException)
            {
                failed++;
            }
        }

        bool ok = failed == 0 && served.Count == DemoTopology.Backends.Length;
        string spread = string.Join(", ", served.OrderBy(static s => s.Key, StringComparer.Ordinal).Select(static s => $"{s.Key} {s.Value}"));
        return new DemoStep("3. pod-to-service (ClusterIP, DNAT + un-NAT)", $"{Connections} TCP connections to {DemoTopology.Vip}:{DemoTopology.ServicePort}",
            ok, $"{spread}{(failed > 0 ? $", {failed} failed" : "")}");
    }

    /// <summary>The node's kernel did none of the work: no bridge, no forwarding, no NAT rules in its namespace.</summary>
    private static async Task<DemoStep> KernelUntouchedAsync(DemoTopology topology, CancellationToken cancel)
    {
        string ns = topology.NodeNamespace;
        (_, string forward) = await RunAsync(cancel, "ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv4.ip_forward").ConfigureAwait(false);
        (_, string bridges) = await RunAsync(cancel, "ip", "-n", ns, "link", "show", "type", "bridge").ConfigureAwait(false);
        bool ok = forward.Trim() == "0" && bridges.Trim().Length == 0;
        return new DemoStep("   node kernel untouched", "node namespace", ok, $"ip_forward={forward.Trim()}, {(bridges.Trim().Length == 0 ? "no bridge" : "a bridge exists!")}");
    }

    private static Process Start(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
    }

    private static async Task<string> ReadToEndAsync(Process process, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(Timeout);
        try
        {
            string text = await process.StandardOutput.ReadToEndAsync(timeout.Token).ConfigureAwait(false);
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            return text;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return "";
        }
    }

    internal static async Task<(int ExitCode, string Output)> RunAsync(CancellationToken cancel, string file, params string[] args)
    {
        try
        {
            using Process process = Start(file, args);
            string text = await ReadToEndAsync(process, cancel).ConfigureAwait(false);
            return (process.HasExited ? process.ExitCode : -1, text + await process.StandardError.ReadToEndAsync(cancel).ConfigureAwait(false));
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, $"{file}: {ex.Message} (scripts/setup.sh installs the demo's tools)");
        }
    }
}
