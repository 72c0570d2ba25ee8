using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.Demo;

/// <summary>
/// The demo's run-time pod: a container runtime's view. A fresh namespace (what the runtime makes for a sandbox) is
/// attached with `dataplane-cni` exactly as containerd or podman would call it (CNI_COMMAND=ADD, the config on stdin,
/// Debian's host-local for IPAM), reaches a pod that was there before, and is detached again with DEL.
/// </summary>
public static class DemoCniPod
{
    public const string Flow = "5. pod added at run time (CNI plugin)";

    /// <summary>Where the demo looks for host-local, after <c>--cni-bin</c>: Debian's containernetworking-plugins, then the usual place.</summary>
    private static readonly string[] s_ipamDirectories = ["/usr/lib/cni", "/opt/cni/bin"];

    public static async Task<DemoStep> RunAsync(DemoTopology topology, string cniBin, string socket, CancellationToken cancel)
    {
        string plugin = Path.Combine(cniBin, "dataplane-cni");
        if (!File.Exists(plugin))
        {
            return new DemoStep(Flow, "dataplane-cni", false,
                $"{plugin} not found: publish it with `dotnet publish src/Dataplane.Cni -c Release -o DIR` and pass --cni-bin DIR (scripts/demo.sh does)");
        }

        string ns = topology.AddNamespace("cni");
        string dataDir = Directory.CreateTempSubdirectory("dpdemo-ipam-").FullName;
        string containerId = $"dpdemo-{topology.Suffix}";
        var config = new JsonObject
        {
            ["cniVersion"] = "1.1.0",
            ["name"] = "demo",
            ["type"] = "dataplane-cni",
            ["socket"] = socket,
            ["ipam"] = new JsonObject
            {
                ["type"] = "host-local",
                ["ranges"] = new JsonArray(new JsonArray(new JsonObject
                {
                    ["subnet"] = "10.244.1.0/24", ["gateway"] = "10.244.1.1", ["rangeStart"] = "10.244.1.100", ["rangeEnd"] = "10.244.1.120",
                })),
                ["dataDir"] = dataDir,
            },
        };
        var env = new Dictionary<string, string>
        {
            ["CNI_CONTAINERID"] = containerId,
            ["CNI_NETNS"] = $"/var/run/netns/{ns}",
            ["CNI_IFNAME"] = "eth0",
            ["CNI_PATH"] = string.Join(':', [cniBin, .. s_ipamDirectories]),
            // IgnoreUnknown: host-local (as every plugin built on libcni) refuses arguments it does not know, as the kubelet passes them.
            ["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAMESPACE=demo;K8S_POD_NAME=late",
        };

        try
        {
            var clock = Stopwatch.StartNew();
            (int addCode, string added) = await CallAsync(plugin, "ADD", env, config, cancel).ConfigureAwait(false);
            double addMs = clock.Elapsed.TotalMilliseconds;
            if (addCode != 0)
            {
                return new DemoStep(Flow, $"CNI ADD into {ns}", false, $"the plugin said: {added.Trim()}");
            }

            string address = JsonNode.Parse(added)!["ips"]![0]!["address"]!.GetValue<string>();
            string web1 = DemoTopology.PodIp("web-1");
            (int pingCode, string ping) = await DemoRunner.RunAsync(cancel, "ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", web1).ConfigureAwait(false);
            string summary = ping.Split('\n').FirstOrDefault(static l => l.Contains("received", StringComparison.Ordinal))?.Trim() ?? ping.Trim();
            clock.Restart();
            (int delCode, string deleted) = await CallAsync(plugin, "DEL", env, config, cancel).ConfigureAwait(false);
            double delMs = clock.Elapsed.TotalMilliseconds;
            return new DemoStep(Flow, $"ADD {address} (host-local) into a new netns, ping {web1}, DEL", pingCode == 0 && delCode == 0,
                $"{summary}; ADD {addMs:0} ms, DEL {(delCode == 0 ? $"{delMs:0} ms" : $"failed: {deleted.Trim()}")}");
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>Runs the plugin as a runtime does: the command and attachment in the environment, the config on stdin.</summary>
    private static async Task<(int ExitCode, string Stdout)> CallAsync(string plugin, string command, Dictionary<string, string> env, JsonObject config, CancellationToken cancel)
    {
        var info = new ProcessStartInfo(plugin) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach ((string key, string value) in env)
        {
            info.Environment[key] = value;
        }

        info.Environment["CNI_COMMAND"] = command;
        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {plugin}");
        await process.StandardInput.WriteAsync(config.ToJsonString(new JsonSerializerOptions { WriteIndented = false })).ConfigureAwait(false);
        process.StandardInput.Close();
        string stdout = await process.StandardOutput.ReadToEndAsync(cancel).ConfigureAwait(false);
        await process.WaitForExitAsync(cancel).ConfigureAwait(false);
        return (process.ExitCode, stdout);
    }
}
