namespace Dataplane.SideBySide;

/// <summary>A service port: the VIP's port and the server pod's port it is DNATed to.</summary>
internal sealed record ServicePort(string Name, int Port, int TargetPort);

/// <summary>
/// One way for two pods to talk: a client pod and a server pod, each its own network namespace with eth0,
/// joined by the kernel, by tapcopy or by the dataplane. Every path gives the pods the same addresses, so
/// every measurement runs the same commands on each; the namespaces are separate, so the paths can all be up
/// at once and measured in turns. Dispose stops what the path started and deletes the namespaces it made.
/// </summary>
internal abstract class TestPath : IDisposable
{
    public const string GatewayIp = "10.244.1.1";
    public const string ClientIp = "10.244.1.10";
    public const string ServerIp = "10.244.1.11";
    public const string NodeMac = "02:00:00:00:01:01";
    public const string ClientMac = "02:00:0a:f4:01:0a";
    public const string ServerMac = "02:00:0a:f4:01:0b";
    public const string Vip = "10.96.0.10";
    public const int PrefixLength = 24;

    public static readonly ServicePort Iperf = new("iperf3", 80, 5201);
    public static readonly ServicePort Sockperf = new("sockperf", 81, 11111);
    public static readonly ServicePort ConnRate = new("connrate", 82, 8081);
    public static readonly ServicePort[] ServicePorts = [Iperf, Sockperf, ConnRate];

    /// <summary>
    /// The outside world on the uplink: the node's uplink address, the outside namespace's address on the uplink's
    /// link, and the address it serves and connects from (on its lo, reached through it, so no path needs the
    /// node to resolve arbitrary uplink neighbours). Node ports are the service ports + 30000.
    /// </summary>
    public const string NodeIp = "192.168.77.10";
    public const string NodeUplinkMac = "02:00:00:00:77:10";
    public const string OutsideLinkIp = "192.168.77.50";
    public const string OutsideIp = "192.168.78.10";
    public const string OutsideCidr = "192.168.78.0/24";

    public static int NodePortOf(ServicePort port) => 30000 + port.Port;

    private readonly List<string> _namespaces = [];
    private readonly List<Background> _processes = [];

    protected TestPath(string key, string title, string label, string runId, Tools tools)
    {
        Key = key;
        Title = title;
        Label = label;
        Tools = tools;
        Prefix = $"dpperf-{runId}-{key}";
        NodeNs = $"{Prefix}-node";
        ClientNs = $"{Prefix}-cli";
        ServerNs = $"{Prefix}-srv";
        OutsideNs = $"{Prefix}-out";
    }

    /// <summary>Short name used in files, namespace names and the chart.</summary>
    public string Key { get; }

    public string Title { get; }

    /// <summary>Two short lines for the chart's axis.</summary>
    public string Label { get; }

    public string NodeNs { get; }

    public string ClientNs { get; }

    public string ServerNs { get; }

    /// <summary>The outside world behind the node's uplink (external client and internet server), when <see cref="HasOutside"/>.</summary>
    public string OutsideNs { get; }

    /// <summary>
    /// Whether the path has an uplink to <see cref="OutsideNs"/> with NodePorts for the service ports and masquerade
    /// for pods' traffic out (the ceiling has neither).
    /// </summary>
    public virtual bool HasOutside => false;

    /// <summary>False for the ceiling: no service, so "via the VIP" measurements go pod-to-pod.</summary>
    public virtual bool HasVip => true;

    /// <summary>Every namespace of this path is named Prefix-something.</summary>
    public string Prefix { get; }

    protected Tools Tools { get; }

    /// <summary>Where a service measurement connects: the VIP's port, or the server pod's own port on the ceiling.</summary>
    public (string Ip, int Port) Target(ServicePort port) => HasVip ? (Vip, port.Port) : (ServerIp, port.TargetPort);

    /// <summary>Builds the path, starts the servers in the server pod and checks both pod-to-pod and VIP traffic flow.</summary>
    public void Start()
    {
        foreach (string ns in HasOutside ? [NodeNs, ClientNs, ServerNs, OutsideNs] : new[] { NodeNs, ClientNs, ServerNs })
        {
            Shell.Run("ip", "netns", "add", ns);
            _namespaces.Add(ns);
        }

        if (HasOutside)
        {
            // The uplink's wire: up0 in the node, eth0 outside; the outside's own address on its lo.
            Shell.Run("ip", "-n", NodeNs, "link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", OutsideNs);
            Shell.Run("ip", "-n", NodeNs, "link", "set", "up0", "address", NodeUplinkMac, "up");
            Shell.Run("ip", "-n", OutsideNs, "link", "set", "lo", "up");
            Shell.Run("ip", "-n", OutsideNs, "addr", "add", $"{OutsideLinkIp}/24", "dev", "eth0");
            Shell.Run("ip", "-n", OutsideNs, "addr", "add", $"{OutsideIp}/32", "dev", "lo");
            Shell.Run("ip", "-n", OutsideNs, "link", "set", "eth0", "up");
            Shell.InNetns(OutsideNs, "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65535");
        }

        Build();
        // connrate opens up to 5 s x tens of thousands of connections: give the client every ephemeral port.
        Shell.InNetns(ClientNs, "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65535");
        StartProcess("ip", "netns", "exec", ServerNs, "iperf3", "-s", "-p", $"{Iperf.TargetPort}");
        StartProcess("ip", "netns", "exec", ServerNs, "sockperf", "sr", "--tcp", "-i", "0.0.0.0", "-p", $"{Sockperf.TargetPort}");
        StartProcess("ip", "netns", "exec", ServerNs, Tools.ConnRate, "server", $"{ConnRate.TargetPort}");
        if (HasOutside)
        {
            // The same servers outside, for pods' traffic out of the cluster (masqueraded).
            StartProcess("ip", "netns", "exec", OutsideNs, "iperf3", "-s", "-p", $"{Iperf.TargetPort}");
            StartProcess("ip", "netns", "exec", OutsideNs, "sockperf", "sr", "--tcp", "-i", OutsideIp, "-p", $"{Sockperf.TargetPort}");
            StartProcess("ip", "netns", "exec", OutsideNs, Tools.ConnRate, "server", $"{ConnRate.TargetPort}");
        }

        WaitUntilForwarding();
    }

    public void Dispose()
    {
        // Servers and the forwarder first (the dataplane removes its TAPs), then the namespaces.
        for (int i = _processes.Count - 1; i >= 0; i--)
        {
            Try(_processes[i].Dispose);
        }

        foreach (string ns in _namespaces)
        {
            // Even after Ctrl-C; unlike Shell.Cleanup this throws on failure, so Try reports a namespace left behind.
            Try(() => Shell.Run(["ip", "netns", "del", ns], null, CancellationToken.None));
        }
    }

    /// <summary>Joins <see cref="ClientNs"/> and <see cref="ServerNs"/> (which exist, empty) through <see cref="NodeNs"/>.</summary>
    protected abstract void Build();

    protected Background StartProcess(params string[] argv)
    {
        Background process = Shell.Start(argv);
        _processes.Add(process);
        return process;
    }

    /// <summary>Addresses a pod's eth0 as the dataplane does (MAC, /24, up, default route via the gateway).</summary>
    protected static void ConfigurePod(string ns, string mac, string ip, bool defaultRoute)
    {
        Shell.Run("ip", "-n", ns, "link", "set", "lo", "up");
        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "address", mac);
        Shell.Run("ip", "-n", ns, "addr", "add", $"{ip}/{PrefixLength}", "dev", "eth0");
        Shell.Run("ip", "-n", ns, "link", "set", "eth0", "up");
        if (defaultRoute)
        {
            Shell.Run("ip", "-n", ns, "route", "add", "default", "via", GatewayIp);
        }
    }

    private void WaitUntilForwarding()
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Shell.Succeeds("ip", "netns", "exec", ClientNs, "ping", "-c", "1", "-W", "1", ServerIp))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{Title}: the client pod cannot ping the server pod {ServerIp}{ProcessOutputs()}");
            }

            Shell.Stopping.ThrowIfCancellationRequested();
        }

        // A short connection burst proves the service (or, on the ceiling, the server port) answers.
        (string ip, int port) = Target(ConnRate);
        string result = Shell.InNetns(ClientNs, Tools.ConnRate, "client", ip, $"{port}", "0.3", "1");
        if (result.StartsWith("connections 0 ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{Title}: no TCP connection to {ip}:{port} succeeds ({result.Trim()}){ProcessOutputs()}");
        }

        if (HasOutside)
        {
            foreach ((string from, string toIp, int toPort, string what) in new[]
            {
                (OutsideNs, NodeIp, NodePortOf(ConnRate), "outside to the node port"),
                (ClientNs, OutsideIp, ConnRate.TargetPort, "the client pod to the outside"),
            })
            {
                string burst = Shell.InNetns(from, Tools.ConnRate, "client", toIp, $"{toPort}", "0.3", "1");
                if (burst.StartsWith("connections 0 ", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"{Title}: no TCP connection from {what} ({toIp}:{toPort}) succeeds ({burst.Trim()}){ProcessOutputs()}");
                }
            }
        }
    }

    private string ProcessOutputs() =>
        string.Concat(_processes.Where(p => p.Output.Length > 0).Select(p => $"\n  {p.Description}: {Shell.Tail(p.Output, 400)}"));

    private static void Try(Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"cleanup: {ex.Message}");
        }
    }
}
