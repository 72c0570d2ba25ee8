using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dataplane.Io.Netns;
using Dataplane.Tests.Infrastructure;
using System.Runtime.Versioning;

namespace Dataplane.Tests.EndToEnd;

/// <summary>A pod of a <see cref="NodeUnderTest"/>: its name, address, MAC and the namespace it lives in.</summary>
public sealed record PodInfo(string Name, string Ip, string Mac, string Netns);

/// <summary>
/// One `dataplane run` child process with its own namespaces: a unique node namespace (`dpt-xxxxxx`) the
/// daemon runs in, unique pod namespace names, a temp directory with the config and control socket, and
/// optionally an uplink veth to a namespace playing node-b. Start waits until `ctl status` answers. Dispose
/// sends SIGTERM, waits for the exit with a deadline, then always kills what is left and deletes every
/// namespace, link and file it made (it throws afterwards if the daemon had to be killed).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class NodeUnderTest : IDisposable
{
    public const string PodCidr = "10.244.1.0/24";
    public const string GatewayIp = "10.244.1.1";
    public const string GatewayMac = "02:00:00:00:01:01";
    public const string PodCidrV6 = "fd00:10:244:1::/64";
    public const string GatewayIpV6 = "fd00:10:244:1::1";
    public const string UplinkInterface = "up0";
    public const string UplinkIp = "192.168.77.10";
    public const string UplinkMac = "02:00:00:00:77:10";
    public const string RemoteUplinkIp = "192.168.77.11";
    public const string RemotePodCidr = "10.244.2.0/24";
    public const string RemotePodIp = "10.244.2.12";
    public const string HostPortName = "dp-host";

    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan s_ctlTimeout = TimeSpan.FromSeconds(60);

    private readonly TestNamespaces _namespaces = new();
    private readonly Dictionary<string, PodInfo> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NetworkNamespace> _handles = new(StringComparer.Ordinal);
    private readonly StringBuilder _log = new();
    private readonly NodeOptions _options;
    private Process? _daemon;
    private bool _disposed;

    private NodeUnderTest(NodeOptions options)
    {
        _options = options;
        NodeName = options.Name ?? TestNamespaces.UniqueName();
        Directory = System.IO.Directory.CreateTempSubdirectory(TestNamespaces.Prefix).FullName;
        ConfigPath = Path.Combine(Directory, "node.yaml");
        SocketPath = Path.Combine(Directory, "control.sock");
    }

    /// <summary>The node's name in the config (unique, also a valid `dpt-` namespace-style name).</summary>
    public string NodeName { get; }

    /// <summary>The namespace the daemon runs in (`--netns`): where it creates TAPs and opens the uplink.</summary>
    public string Namespace { get; private set; } = "";

    /// <summary>The namespace playing node-b at the far end of the uplink, or null without an uplink.</summary>
    public string? RemoteNamespace { get; private set; }

    /// <summary>A temp directory for the config, the control socket and whatever a test writes (pcaps).</summary>
    public string Directory { get; }

    public string ConfigPath { get; }

    public string SocketPath { get; }

    /// <summary>The daemon's state directory (conntrack's file, the ownership record), inside <see cref="Directory"/>.</summary>
    public string StateDirectory => Path.Combine(Directory, "state");

    public IReadOnlyCollection<PodInfo> Pods => _pods.Values;

    public int Pid => _daemon?.Id ?? throw new InvalidOperationException("not started");

    public bool HasExited => _daemon?.HasExited ?? true;

    /// <summary>What the daemon printed so far (stdout and stderr interleaved), for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The path of the dataplane CLI next to the tests.</summary>
    public static string DataplaneDll => Path.Combine(AppContext.BaseDirectory, "dataplane.dll");

    /// <summary>The `dotnet` host running these tests, so the daemon runs on the same runtime.</summary>
    public static string DotnetHost =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    /// <summary>Sets up the namespaces, writes the config, starts the daemon and waits until it serves.</summary>
    public static NodeUnderTest Start(NodeOptions options)
    {
        var node = new NodeUnderTest(options);
        try
        {
            node.CreateNamespaces();
            node.WriteConfig(options.Services);
            node.Launch();
            if (options.WaitUntilServing)
            {
                node.WaitUntilServing();
            }

            return node;
        }
        catch (Exception startFailure)
        {
            try
            {
                node.Dispose();
            }
            catch (Exception cleanupFailure)
            {
                throw new AggregateException("starting the node failed, and so did cleaning up after it", startFailure, cleanupFailure);
            }

            throw;
        }
    }

    public PodInfo Pod(string name) => _pods.TryGetValue(name, out PodInfo? pod)
        ? pod
        : throw new ArgumentException($"no pod '{name}' (pods: {string.Join(", ", _pods.Keys)})", nameof(name));

    /// <summary>Rewrites the config file with another `services:` list (the rest unchanged), e.g. before SIGHUP.</summary>
    public void WriteConfig(string services)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine(CultureInvariant($"""
            node:
              name: {NodeName}
              podCidr: {PodCidr}
              gatewayIp: {GatewayIp}
              mac: {GatewayMac}
            """));
        if (_options.Ipv6)
        {
            yaml.AppendLine($"  podCidrV6: {PodCidrV6}");
            yaml.AppendLine($"  gatewayIpV6: {GatewayIpV6}");
        }

        if (_options.Uplink)
        {
            string gateway = _options.UplinkGateway is { } via ? $", gateway: {via}" : "";
            yaml.AppendLine($"  uplink: {{ interface: {UplinkInterface}, ip: {UplinkIp}/24, mac: {UplinkMac}{gateway} }}");
            if (_options.HostPort)
            {
                yaml.AppendLine($"  hostPort: {{ name: {HostPortName} }}");
            }
        }

        foreach (string line in _options.NodeExtra)
        {
            yaml.AppendLine(line);
        }

        yaml.AppendLine("pods:");
        foreach (PodInfo pod in _pods.Values)
        {
            yaml.AppendLine($"  - {{ name: {pod.Name}, ip: {pod.Ip}, mac: {pod.Mac}, netns: {pod.Netns} }}");
        }

        if (_options.Uplink && _options.StaticRoutes)
        {
            // No viaMac: the dataplane resolves node-b with ARP on the uplink.
            yaml.AppendLine("routes:");
            yaml.AppendLine(_options.RemoteRoute is { } remoteRoute ? $"  - {remoteRoute}" : $"  - {{ cidr: {RemotePodCidr}, via: {RemoteUplinkIp} }}");
            foreach (string route in _options.ExtraRoutes)
            {
                yaml.AppendLine($"  - {route}");
            }
        }

        if (!string.IsNullOrWhiteSpace(services))
        {
            yaml.AppendLine("services:");
            yaml.AppendLine(services.TrimEnd());
        }

        yaml.AppendLine("conntrack:");
        yaml.AppendLine(CultureInvariant($"  maxEntries: {_options.ConntrackMaxEntries}"));
        foreach (string line in _options.ConntrackExtra)
        {
            yaml.AppendLine(line);
        }

        yaml.AppendLine("dataplane:");
        yaml.AppendLine($"  controlSocket: {SocketPath}");
        yaml.AppendLine($"  stateDirectory: {StateDirectory}");
        yaml.AppendLine($"  offloads: {(_options.Offloads ? "true" : "false")}");
        yaml.AppendLine($"  workers: {_options.Workers}");
        if (_options.Io is not null)
        {
            yaml.AppendLine($"  io: {_options.Io}");
        }

        foreach (string line in _options.DataplaneExtra)
        {
            yaml.AppendLine(line);
        }

        File.WriteAllText(ConfigPath, yaml.ToString());
    }

    /// <summary>Runs `dataplane ctl --socket SOCKET args...` (the real CLI) and returns what it printed.</summary>
    public ProcessResult Ctl(params string[] args) =>
        ProcessRunner.Run(s_ctlTimeout, DotnetHost, [DataplaneDll, "ctl", "--socket", SocketPath, .. args]);

    /// <summary>`ctl ARGS --json`, parsed; throws with the CLI's error and the daemon's log if it failed.</summary>
    public JsonElement CtlJson(params string[] args)
    {
        ProcessResult result = Ctl([.. args, "--json"]);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"`dataplane ctl {string.Join(' ', args)}` exited with {result.ExitCode}: {result.StdErr.Trim()} {result.StdOut.Trim()}{Environment.NewLine}{DaemonOutput()}");
        }

        using JsonDocument document = JsonDocument.Parse(result.StdOut);
        return document.RootElement.Clone();
    }

    /// <summary>A stage's drop or event counter from `ctl stats --json` (summed over workers by the daemon).</summary>
    public long Counter(string stage, string counter) => Counter(CtlJson("stats"), stage, counter);

    public static long Counter(JsonElement stats, string stage, string counter)
    {
        foreach (JsonElement s in stats.GetProperty("stages").EnumerateArray())
        {
            if (s.GetProperty("name").GetString() != stage)
            {
                continue;
            }

            foreach (string group in (string[])["drops", "events"])
            {
                if (s.TryGetProperty(group, out JsonElement values) && values.TryGetProperty(counter, out JsonElement value))
                {
                    return value.GetInt64();
                }
            }

            throw new KeyNotFoundException($"stage {stage} has no counter '{counter}': {s}");
        }

        throw new KeyNotFoundException($"no stage '{stage}' in ctl stats");
    }

    /// <summary>Runs a command inside a pod's namespace (`ip netns exec`), with the default deadline.</summary>
    public ProcessResult ExecInPod(string pod, params string[] command) => TestNamespaces.Exec(Pod(pod).Netns, command);

    public Task<ProcessResult> ExecInPodAsync(string pod, TimeSpan timeout, params string[] command) =>
        TestNamespaces.ExecAsync(Pod(pod).Netns, timeout, command);

    /// <summary>
    /// Runs <paramref name="work"/> inside a namespace (a pod name or a namespace name) on a dedicated thread:
    /// for creating sockets there. Only synchronous work; sockets stay in that namespace wherever used later.
    /// </summary>
    public T InNamespace<T>(string podOrNamespace, Func<T> work)
    {
        string ns = _pods.TryGetValue(podOrNamespace, out PodInfo? pod) ? pod.Netns : podOrNamespace;
        NetworkNamespace handle;
        lock (_handles)
        {
            if (!_handles.TryGetValue(ns, out handle!))
            {
                handle = NetworkNamespace.Open(ns);
                _handles.Add(ns, handle);
            }
        }

        return handle.Run(work);
    }

    /// <summary>An unbound IPv4 socket created in a pod's (or a namespace's) network namespace.</summary>
    public Socket Socket(string podOrNamespace, SocketType type, ProtocolType protocol) =>
        InNamespace(podOrNamespace, () => new Socket(AddressFamily.InterNetwork, type, protocol));

    /// <summary>SIGTERM, then waits for the exit; returns the exit code. Kills and throws at the deadline.</summary>
    public int Stop()
    {
        Process daemon = _daemon ?? throw new InvalidOperationException("not started");
        if (!daemon.HasExited)
        {
            Signal("TERM");
            if (!daemon.WaitForExit(StopTimeout))
            {
                daemon.Kill(entireProcessTree: true);
                throw new TimeoutException($"the daemon did not exit within {StopTimeout.TotalSeconds} s of SIGTERM; killed{Environment.NewLine}{DaemonOutput()}");
            }
        }

        daemon.WaitForExit(); // flushes the output readers
        return daemon.ExitCode;
    }

    /// <summary>
    /// Stops the daemon (SIGTERM and a clean exit, or SIGKILL) and starts a new one on the same config and namespaces,
    /// waiting until it serves: a restart or an upgrade as a node sees it.
    /// </summary>
    public void Restart(bool kill)
    {
        Process daemon = _daemon ?? throw new InvalidOperationException("not started");
        if (kill)
        {
            daemon.Kill();
            daemon.WaitForExit();
        }
        else
        {
            int exitCode = Stop();
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"the daemon exited with {exitCode} on SIGTERM{Environment.NewLine}{DaemonOutput()}");
            }
        }

        daemon.Dispose();
        _daemon = null;
        Launch();
        WaitUntilServing();
    }

    /// <summary>Runs `dataplane cleanup --config` for this node (the real CLI).</summary>
    public ProcessResult Cleanup() => ProcessRunner.Run(s_ctlTimeout, DotnetHost, DataplaneDll, "cleanup", "--config", ConfigPath);

    /// <summary>Sends a signal (TERM, HUP, ...) to the daemon with kill(1).</summary>
    public void Signal(string name) =>
        ProcessRunner.Run(TimeSpan.FromSeconds(10), "kill", $"-{name}", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess();

    /// <summary>The daemon's output, labelled, for assertion messages.</summary>
    public string DaemonOutput() => $"--- daemon {NodeName} output ---{Environment.NewLine}{Log}--- end ---";

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var errors = new List<string>();
        try
        {
            if (_daemon is { HasExited: false })
            {
                Stop();
            }
        }
        catch (Exception ex)
        {
            errors.Add(ex.Message);
        }
        finally
        {
            if (_daemon is { HasExited: false })
            {
                _daemon.Kill(entireProcessTree: true);
                _daemon.WaitForExit(5000);
            }

            _daemon?.Dispose();
            lock (_handles)
            {
                foreach (NetworkNamespace handle in _handles.Values)
                {
                    handle.Dispose();
                }

                _handles.Clear();
            }

            try
            {
                // Node, node-b and every pod namespace (made by us or by the daemon); the veth goes with them.
                _namespaces.Dispose();
            }
            catch (Exception ex)
            {
                errors.Add(ex.Message);
            }

            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException ex)
            {
                errors.Add($"removing {Directory}: {ex.Message}");
            }
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"node {NodeName} cleanup: {string.Join("; ", errors)}{Environment.NewLine}{Log}");
        }
    }

    private void CreateNamespaces()
    {
        Namespace = _namespaces.Add();
        // A new namespace inherits the host's ip_forward (1 on any Docker or Kubernetes host); the node's kernel
        // must forward nothing, and tests check it does not, so set it rather than rely on the host.
        TestNamespaces.Exec(Namespace, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0").EnsureSuccess();
        for (int i = 0; i < _options.Pods.Count; i++)
        {
            string name = _options.Pods[i];
            int host = 11 + i;
            string netns = _options.PreexistingNamespaces.Contains(name) ? _namespaces.Add() : _namespaces.NewName();
            _pods.Add(name, new PodInfo(name, $"10.244.1.{host}", $"02:00:0a:f4:01:{host:x2}", netns));
        }

        if (!_options.Uplink)
        {
            return;
        }

        // The uplink: a veth whose node end has no address (the dataplane owns the uplink IP and answers ARP
        // for it), and whose far end is node-b with a pod address on lo and a route back to our pods.
        string remote = _namespaces.Add();
        RemoteNamespace = remote;
        Run("ip", "-n", Namespace, "link", "add", UplinkInterface, "type", "veth", "peer", "name", "eth0", "netns", remote);
        if (_options.UplinkInterfaceHasUplinkMac)
        {
            Run("ip", "-n", Namespace, "link", "set", UplinkInterface, "address", UplinkMac);
        }

        Run("ip", "-n", Namespace, "link", "set", UplinkInterface, "up");
        Run("ip", "-n", remote, "link", "set", "lo", "up");
        Run("ip", "-n", remote, "addr", "add", $"{RemoteUplinkIp}/24", "dev", "eth0");
        Run("ip", "-n", remote, "link", "set", "eth0", "up");
        Run("ip", "-n", remote, "addr", "add", $"{RemotePodIp}/32", "dev", "lo");
        Run("ip", "-n", remote, "route", "add", PodCidr, "via", UplinkIp);
    }

    private void Launch()
    {
        var info = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[DataplaneDll, "run", "--config", ConfigPath, "--netns", Namespace, .. _options.RunArguments])
        {
            info.ArgumentList.Add(arg);
        }

        foreach ((string name, string value) in _options.Environment)
        {
            info.Environment[name] = value;
        }

        var daemon = new Process { StartInfo = info };
        DataReceivedEventHandler append = (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_log)
                {
                    _log.AppendLine(e.Data);
                }
            }
        };
        daemon.OutputDataReceived += append;
        daemon.ErrorDataReceived += append;
        daemon.Start();
        _daemon = daemon;
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
    }

    private void WaitUntilServing()
    {
        try
        {
            Poll.Until(() =>
            {
                if (_daemon!.HasExited)
                {
                    _daemon.WaitForExit();
                    throw new InvalidOperationException($"the daemon exited with {_daemon.ExitCode} before serving{Environment.NewLine}{DaemonOutput()}");
                }

                return File.Exists(SocketPath) && Ctl("status").ExitCode == 0;
            }, StartTimeout, "`ctl status` to answer");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}{Environment.NewLine}{DaemonOutput()}", ex);
        }
    }

    private static void Run(string fileName, params string[] args) =>
        ProcessRunner.Run(TestNamespaces.CommandTimeout, fileName, args).EnsureSuccess();

    private static string CultureInvariant(FormattableString text) => FormattableString.Invariant(text);
}
