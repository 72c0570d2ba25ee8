using Dataplane.CniDriver;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.CniLatency;

/// <summary>
/// One CNI network measured by `cni-driver bench`: a node namespace, two pods that exist before the churn (w1 pings w2
/// all along, to see whether the churn disturbs running pods), a conflist, and where the driver runs. Every namespace
/// it makes starts with <see cref="Prefix"/> (`dpt-cl` + run id + a letter), so Dispose removes them all, the bench's
/// leftovers included.
/// </summary>
internal abstract class CniPath(string key, string title, char letter, string runId, string workDir, string driver) : IDisposable
{
    public const string Subnet = "10.244.1.0/24";
    public const string Gateway = "10.244.1.1";

    // Pods of the bench get .20 and up (the static pods of the dataplane path are .11 and .12).
    protected const string RangeStart = "10.244.1.20";
    protected const string RangeEnd = "10.244.1.254";

    private readonly List<Background> _processes = [];

    public string Key { get; } = key;

    public string Title { get; } = title;

    public string Prefix { get; } = $"dpt-cl{runId}{letter}";

    /// <summary>This path's scratch directory (conflist, host-local leases, libcni cache).</summary>
    protected string Dir { get; } = Directory.CreateDirectory(Path.Combine(workDir, key)).FullName;

    protected string Driver { get; } = driver;

    protected string IpamDir => Path.Combine(Dir, "ipam");

    protected string CacheDir => Path.Combine(Dir, "cache");

    protected string Conflist => Path.Combine(Dir, "net.conflist");

    /// <summary>Where the driver runs: a namespace (`ip netns exec`), or null for the host's.</summary>
    protected abstract string? DriverNamespace { get; }

    protected abstract IReadOnlyList<string> PluginDirs { get; }

    protected string WatchNetns { get; set; } = "";

    protected string WatchIp { get; set; } = "";

    /// <summary>Sets the path up: namespaces, the daemon if any, the two running pods, the conflist.</summary>
    public abstract void Start();

    /// <summary>One bench of <paramref name="count"/> pods, <paramref name="parallel"/> operations at a time, w1 pinging w2 throughout.</summary>
    public BenchReport Bench(string phase, int count, int parallel, bool readyPing) =>
        CniLatency.Bench.Run(Driver, DriverNamespace, Common(), new BenchRun($"{Prefix}{phase}", count, parallel, readyPing, WatchNetns, WatchIp));

    public virtual void Dispose()
    {
        foreach (Background process in Enumerable.Reverse(_processes))
        {
            process.Dispose();
        }

        foreach (string ns in Shell.Cleanup("ip", "netns", "list").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ')[0]).Where(ns => ns.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            Shell.Cleanup("ip", "netns", "del", ns);
        }
    }

    protected IEnumerable<string> Common() => ["--conflist", Conflist, "--bin", string.Join(':', PluginDirs), "--cache-dir", CacheDir];

    protected string AddNamespace(string suffix)
    {
        string name = Prefix + suffix;
        Shell.Run("ip", "netns", "add", name);
        Shell.Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    protected Background StartProcess(params string[] argv)
    {
        // The daemon removes every TAP it made before it exits: it gets longer than the default.
        Background process = Shell.Start(argv, TimeSpan.FromSeconds(15));
        _processes.Add(process);
        return process;
    }

    /// <summary>ADD of one pod through the driver; returns its first address.</summary>
    protected string AddPod(string netns, string id)
    {
        string[] argv = [.. DriverNamespace is null ? Array.Empty<string>() : ["ip", "netns", "exec", DriverNamespace], Driver, "add", .. Common(),
            "--netns", netns, "--id", id];
        using JsonDocument result = JsonDocument.Parse(Shell.Run(argv, TimeSpan.FromMinutes(2)));
        return result.RootElement.GetProperty("ips")[0].GetProperty("address").GetString()!.Split('/')[0];
    }

    protected static JsonObject HostLocal(string dataDir) => new()
    {
        ["type"] = "host-local",
        ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = Subnet, ["gateway"] = Gateway, ["rangeStart"] = RangeStart, ["rangeEnd"] = RangeEnd })),
        ["dataDir"] = dataDir,
    };

    protected void WriteConflist(string name, JsonObject plugin)
    {
        Directory.CreateDirectory(IpamDir);
        Directory.CreateDirectory(CacheDir);
        var list = new JsonObject { ["cniVersion"] = "1.0.0", ["name"] = name, ["plugins"] = new JsonArray(plugin) };
        File.WriteAllText(Conflist, list.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}

/// <summary>
/// The kernel baseline: Debian's bridge plugin with host-local. The driver runs inside the node namespace, so the
/// bridge (the pods' gateway), the host ends of the veths and the gateway address all live there; no masquerading.
/// </summary>
internal sealed class BridgePath(string runId, string workDir, string driver)
    : CniPath("bridge", "bridge + host-local (kernel)", 'b', runId, workDir, driver)
{
    private string _node = "";

    protected override string? DriverNamespace => _node;

    protected override IReadOnlyList<string> PluginDirs => [Tools.DebianPlugins];

    public override void Start()
    {
        _node = AddNamespace("n");
        WriteConflist("dpt-bridge", new JsonObject
        {
            ["type"] = "bridge",
            ["bridge"] = "dpt-br0",
            ["isGateway"] = true,
            ["ipMasq"] = false,
            ["ipam"] = HostLocal(IpamDir),
        });
        WatchNetns = AddNamespace("w1");
        string w2 = AddNamespace("w2");
        AddPod(WatchNetns, "watch-w1");
        WatchIp = AddPod(w2, "watch-w2");
    }
}

/// <summary>
/// Our daemon (`dataplane run --netns NODE`) with two static pods (w1, w2) and its control socket, and dataplane-cni
/// (published from src/Dataplane.Cni) with host-local. The driver runs in the host's namespace like a runtime would:
/// the plugin only talks to the socket, and the daemon makes the TAPs in its node namespace.
/// </summary>
internal sealed class DataplanePath(string runId, string workDir, string driver, Tools tools, bool build)
    : CniPath("dataplane", "dataplane-cni + host-local", 'd', runId, workDir, driver)
{
    private string _pluginDir = "";

    protected override string? DriverNamespace => null;

    protected override IReadOnlyList<string> PluginDirs => [_pluginDir, Tools.DebianPlugins];

    private string Socket => Path.Combine(Dir, "control.sock");

    public override void Start()
    {
        if (build)
        {
            tools.BuildDataplane();
        }

        string node = AddNamespace("n");
        // A new namespace inherits the host's ip_forward: the node's kernel must forward nothing here.
        Shell.Run("ip", "netns", "exec", node, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0");
        string w1 = AddNamespace("w1");
        string w2 = AddNamespace("w2");
        string config = Path.Combine(Dir, "node.yaml");
        File.WriteAllText(config, $$"""
            node: { name: {{Prefix}}, podCidr: {{Subnet}}, gatewayIp: {{Gateway}}, mac: 02:00:00:00:01:01 }
            pods:
              - { name: w1, ip: 10.244.1.11, mac: 02:00:0a:f4:01:0b, netns: {{w1}} }
              - { name: w2, ip: 10.244.1.12, mac: 02:00:0a:f4:01:0c, netns: {{w2}} }
            dataplane: { controlSocket: {{Socket}} }
            """);
        Background daemon = StartProcess("dotnet", tools.DataplaneDll, "run", "--config", config, "--netns", node, "--log-level", "Warning");
        daemon.WaitUntil(() => File.Exists(Socket) && HasDefaultRoute(w1) && HasDefaultRoute(w2), TimeSpan.FromSeconds(90), "the static pods' eth0 from the dataplane");
        WatchNetns = w1;
        WatchIp = "10.244.1.12";

        // After the daemon, so that what works today (the daemon and its static pods) is exercised before this fails.
        _pluginDir = tools.PublishPlugin(Path.Combine(Dir, "cni-plugin"));
        WriteConflist("dataplane", new JsonObject
        {
            ["type"] = "dataplane-cni",
            ["socket"] = Socket,
            ["mtu"] = 1500,
            ["ipam"] = HostLocal(IpamDir),
        });
    }

    /// <summary>The daemon adds the default route last, once eth0 is up and addressed.</summary>
    private static bool HasDefaultRoute(string ns) => Shell.Run("ip", "-n", ns, "route", "show", "default").Contains("default", StringComparison.Ordinal);
}
