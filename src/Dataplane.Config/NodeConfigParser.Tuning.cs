using Dataplane.Model;

namespace Dataplane.Config;

/// <summary>The optional <c>conntrack:</c> and <c>dataplane:</c> sections: numbers with ranges and defaults.</summary>
internal sealed partial class NodeConfigParser
{
    private static readonly string[] s_conntrackKeys = ["maxEntries", "accounting", "timeouts", "perPod"];

    private static readonly string[] s_perPodKeys = ["maxEntries", "newFlowsPerSecond", "burst"];

    private static readonly string[] s_timeoutKeys =
    [
        "tcpEstablished", "tcpSynSent", "tcpSynRecv", "tcpFinWait", "tcpCloseWait", "tcpLastAck", "tcpTimeWait", "tcpClose", "udp", "udpStream", "icmp",
    ];

    private static readonly string[] s_dataplaneKeys =
        ["batchSize", "workers", "macTableCapacity", "macAgingSeconds", "icmpErrorsPerSecond", "icmpErrorBurst", "controlSocket", "offloads", "busyPollMicroseconds", "io", "metricsAddress", "maxPods",
        "stateDirectory", "controlGroup", "controlMaxConnections", "controlIdleTimeoutSeconds", "controlRequestTimeoutSeconds"];

    private static readonly (string, WorkerIo)[] s_workerIo = [("syscalls", WorkerIo.Syscalls), ("uring", WorkerIo.Uring)];

    /// <summary>The most seconds whose milliseconds still fit an int (about 24.8 days), so an engine may keep timeouts as int ms.</summary>
    private const int MaxTimeoutSeconds = 2147483;

    private ConntrackConfig ReadConntrack(ConfigMapping top)
    {
        ConntrackConfig defaults = ConntrackConfig.Default;
        if (top.Mapping("conntrack", s_conntrackKeys) is not { } m)
        {
            return defaults;
        }

        // The table is fixed-size and preallocated, so the cap stops a typo from allocating gigabytes.
        int maxEntries = m.Int("maxEntries", 1024, 64 << 20, defaults.MaxEntries);
        bool accounting = m.Bool("accounting", defaults.Accounting);

        ConntrackPodLimits perPod = ReadPerPod(m, maxEntries);
        ConntrackTimeouts d = defaults.Timeouts;
        if (m.Mapping("timeouts", s_timeoutKeys) is not { } t)
        {
            return new ConntrackConfig(maxEntries, d, accounting) { PerPod = perPod };
        }

        var timeouts = new ConntrackTimeouts(
            TcpEstablished: Timeout(t, "tcpEstablished", d.TcpEstablished),
            TcpSynSent: Timeout(t, "tcpSynSent", d.TcpSynSent),
            TcpSynRecv: Timeout(t, "tcpSynRecv", d.TcpSynRecv),
            TcpFinWait: Timeout(t, "tcpFinWait", d.TcpFinWait),
            TcpCloseWait: Timeout(t, "tcpCloseWait", d.TcpCloseWait),
            TcpLastAck: Timeout(t, "tcpLastAck", d.TcpLastAck),
            TcpTimeWait: Timeout(t, "tcpTimeWait", d.TcpTimeWait),
            TcpClose: Timeout(t, "tcpClose", d.TcpClose),
            Udp: Timeout(t, "udp", d.Udp),
            UdpStream: Timeout(t, "udpStream", d.UdpStream),
            Icmp: Timeout(t, "icmp", d.Icmp));
        return new ConntrackConfig(maxEntries, timeouts, accounting) { PerPod = perPod };
    }

    /// <summary><c>conntrack.perPod</c>: a pod's entries are at most the whole table (more could never be reached).</summary>
    private static ConntrackPodLimits ReadPerPod(ConfigMapping conntrack, int tableEntries)
    {
        ConntrackPodLimits d = ConntrackPodLimits.Default;
        if (conntrack.Mapping("perPod", s_perPodKeys) is not { } m)
        {
            return d;
        }

        return new ConntrackPodLimits(
            MaxEntries: m.Int("maxEntries", 1, tableEntries, required: false),
            NewFlowsPerSecond: m.Int("newFlowsPerSecond", 1, ConntrackPodLimits.MaxRate, d.NewFlowsPerSecond),
            Burst: m.Int("burst", 1, ConntrackPodLimits.MaxRate, d.Burst));
    }

    private static int Timeout(ConfigMapping timeouts, string key, int defaultValue) => timeouts.Int(key, 1, MaxTimeoutSeconds, defaultValue);

    private DataplaneSettings ReadDataplane(ConfigMapping top)
    {
        DataplaneSettings d = DataplaneSettings.Default;
        if (!top.Has("dataplane") && ControlSocketProblem(d.ControlSocket) is { } defaultProblem)
        {
            // The default path is the daemon's too (a long node.name, or a file already there), and would fail at start-up.
            top.Error("dataplane", $"controlSocket defaults to {d.ControlSocket}: {defaultProblem}");
        }

        if (top.Mapping("dataplane", s_dataplaneKeys) is not { } m)
        {
            return d;
        }

        string controlSocket = m.String("controlSocket") ?? d.ControlSocket;
        if (ControlSocketProblem(controlSocket) is { } problem)
        {
            m.Error("controlSocket", problem);
        }

        string stateDirectory = m.String("stateDirectory") ?? d.StateDirectory;
        if (!stateDirectory.StartsWith('/'))
        {
            m.Error("stateDirectory", $"'{stateDirectory}' must be an absolute path");
        }

        string? metricsAddress = m.String("metricsAddress");
        if (metricsAddress is not null && DataplaneSettings.MetricsAddressProblem(metricsAddress) is { } metricsProblem)
        {
            m.Error("metricsAddress", metricsProblem);
        }

        string? controlGroup = m.String("controlGroup");
        if (controlGroup is not null && ControlGroupProblem(controlGroup) is { } groupProblem)
        {
            m.Error("controlGroup", groupProblem);
        }

        return new DataplaneSettings(
            BatchSize: m.Int("batchSize", 1, 256, d.BatchSize),
            Workers: m.Int("workers", 1, 64, d.Workers),
            MacTableCapacity: m.Int("macTableCapacity", 16, 16 << 20, d.MacTableCapacity),
            MacAgingSeconds: m.Int("macAgingSeconds", 1, 86400, d.MacAgingSeconds),
            IcmpErrorsPerSecond: m.Int("icmpErrorsPerSecond", 0, 1_000_000, d.IcmpErrorsPerSecond),
            IcmpErrorBurst: m.Int("icmpErrorBurst", 0, 1_000_000, d.IcmpErrorBurst),
            ControlSocket: controlSocket,
            Offloads: m.Bool("offloads", d.Offloads),
            BusyPollMicroseconds: m.Int("busyPollMicroseconds", 0, 10_000, d.BusyPollMicroseconds),
            Io: m.Choice("io", s_workerIo, d.Io),
            MetricsAddress: metricsAddress,
            MaxPods: m.Int("maxPods", 1, NodeRules.MaxPodsAndNextHops, d.MaxPods),
            StateDirectory: stateDirectory,
            ControlGroup: controlGroup,
            ControlMaxConnections: m.Int("controlMaxConnections", 1, 4096, d.ControlMaxConnections),
            ControlIdleTimeoutSeconds: m.Int("controlIdleTimeoutSeconds", 1, 3600, d.ControlIdleTimeoutSeconds),
            ControlRequestTimeoutSeconds: m.Int("controlRequestTimeoutSeconds", 1, 86400, d.ControlRequestTimeoutSeconds));
    }

    /// <summary>
    /// A group name as groupadd takes it (letters, digits, '_', '-', '.', not starting with '-'), or a gid. Whether
    /// the group exists is the daemon's check at start: the config may be read on another machine (replay, lint).
    /// </summary>
    private static string? ControlGroupProblem(string group) =>
        group.Length is 0 or > 32 || group[0] == '-' || !group.All(static c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')
            ? $"'{group}' is not a group name or gid (letters, digits, '_', '-', '.'; at most 32)"
            : null;

    private string? ControlSocketProblem(string path)
    {
        if (!path.StartsWith('/'))
        {
            return $"'{path}' must be an absolute path";
        }

        if (_nodeName is null)
        {
            // {node} cannot be expanded; node.name has its own error.
            return null;
        }

        string expanded = NodeConfig.ExpandControlSocket(path, _nodeName);
        return System.Text.Encoding.UTF8.GetByteCount(expanded) > NameRules.MaxUnixSocketPath
            ? $"'{expanded}' is longer than {NameRules.MaxUnixSocketPath} bytes, the limit for a unix socket path"
            : ControlSocketFile.Problem(expanded);
    }
}
