namespace Dataplane.Daemon;

/// <param name="Netns">
/// The node's network namespace (a name under /var/run/netns or a path). TAPs are created and the uplink
/// socket is opened there; null means the namespace the process runs in (the root one on a real node).
/// </param>
/// <param name="ConfigPath">Where the config came from, re-read on SIGHUP; null when it was built in memory.</param>
/// <param name="MetricsAddress">IP:PORT for /metrics, /healthz and /readyz over TCP; overrides <c>dataplane.metricsAddress</c>.</param>
public sealed record DaemonOptions(string? Netns = null, string? ConfigPath = null, string? MetricsAddress = null);
