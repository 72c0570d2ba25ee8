using System.Diagnostics;
using Dataplane.Daemon;
using Dataplane.Kubernetes;
using Dataplane.Model;
using Dataplane.Tables;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataplane.ApiSync;

/// <summary>
/// The node a sync programs, wired as the daemon wires it (src/Dataplane.Host/Daemon/ClusterSource.cs and NodeDaemon.cs)
/// minus the I/O: a <see cref="NodeDataplane"/> from <see cref="Cluster.NodeConfig"/>, a <see cref="ClusterSync"/> over
/// its ServiceController with routes applied by its RouteController, and the health-check node ports following the
/// ServiceController's Changed event (none listen: no service here asks for one, but every change pays their sync).
/// </summary>
internal sealed class NodeUnderTest : IDisposable
{
    // Every node made, so a heap figure can wait until the earlier ones are really gone.
    private static readonly List<WeakReference<NodeDataplane>> s_made = [];

    public NodeUnderTest(string source)
    {
        Dataplane = new NodeDataplane(Cluster.NodeConfig());
        s_made.Add(new WeakReference<NodeDataplane>(Dataplane));
        HealthChecks = new HealthCheckNodePorts(null, Dataplane.Services.Node, NullLoggerFactory.Instance);
        Dataplane.ServiceController.Changed += HealthChecks.Sync;
        Sync = new ClusterSync(Cluster.SelfNode, Dataplane.Config.Node, Dataplane.ServiceController, Dataplane.Routes.Replace, NullLogger.Instance, source);
    }

    public NodeDataplane Dataplane { get; }

    public ClusterSync Sync { get; }

    public HealthCheckNodePorts HealthChecks { get; }

    /// <summary>Maglev tables the published service ports use, and their bytes (2 per entry).</summary>
    public (int Tables, long Bytes) MaglevTables()
    {
        var tables = new HashSet<MaglevTable>(ReferenceEqualityComparer.Instance);
        foreach (ServicePort port in Dataplane.Services.Ports)
        {
            if (port.Maglev is { } table)
            {
                tables.Add(table);
            }
        }

        return (tables.Count, tables.Sum(static t => 2L * t.Size));
    }

    /// <summary>The churned service's published port: its backends and how many take new flows.</summary>
    public (int Backends, int Eligible) ChurnedPort(Cluster cluster) =>
        Dataplane.Services.TryLookup(new ServiceKey(cluster.ChurnVip, L4Protocol.Tcp, Cluster.ServicePort), out ServicePort? port)
            ? (port.Backends.Length, port.EligibleCount)
            : (0, 0);

    public void Dispose() => HealthChecks.Dispose();

    /// <summary>
    /// The managed heap after a full GC once every other node made so far has been collected. A node let go of stays
    /// reachable for a moment after its run (something in the async and HTTP machinery holds on to it for a second or
    /// two); counted in "before", it would go away mid-run and show as a negative delta. Throws after 30 s.
    /// </summary>
    public long HeapWithoutOthers()
    {
        var deadline = Stopwatch.StartNew();
        while (s_made.Any(w => w.TryGetTarget(out NodeDataplane? other) && !ReferenceEquals(other, Dataplane)))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException("an earlier node was still reachable after 30 s");
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            Thread.Sleep(100);
        }

        s_made.RemoveAll(static w => !w.TryGetTarget(out _));
        return SyncRuns.Heap();
    }
}
