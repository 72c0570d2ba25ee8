using System.Collections.Concurrent;
using Dataplane.Ingress.Routing;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;

namespace Dataplane.Ingress.Proxy;

/// <summary>
/// YARP's configuration source: each published snapshot becomes a new configuration and the old one's change token
/// fires. YARP then swaps routes and clusters in place: a cluster whose destinations change keeps its connections,
/// requests in flight finish where they were sent, nothing is dropped. Also keeps the last snapshots by generation,
/// for the endpoints YARP builds from a configuration to find theirs.
/// </summary>
public sealed class IngressProxyConfigProvider(LoadBalancing loadBalancing) : IProxyConfigProvider
{
    // YARP builds a configuration's endpoints soon after taking it; a few generations behind is plenty of room.
    private const int Kept = 16;

    private readonly ConcurrentDictionary<long, RoutingSnapshot> _snapshots = new();
    private Config _config = new(RoutingSnapshot.Empty, loadBalancing);

    public IProxyConfig GetConfig() => Volatile.Read(ref _config);

    /// <summary>Makes <paramref name="snapshot"/> the configuration YARP serves next.</summary>
    public void Publish(RoutingSnapshot snapshot)
    {
        _snapshots[snapshot.Generation] = snapshot;
        foreach (long old in _snapshots.Keys)
        {
            if (old <= snapshot.Generation - Kept)
            {
                _snapshots.TryRemove(old, out _);
            }
        }

        Config previous = Interlocked.Exchange(ref _config, new Config(snapshot, loadBalancing));
        previous.Changed();
    }

    /// <summary>The snapshot a route of generation <paramref name="generation"/> belongs to; null when long gone.</summary>
    public RoutingSnapshot? SnapshotOf(long generation)
        => generation == 0 ? RoutingSnapshot.Empty : _snapshots.GetValueOrDefault(generation);

    private sealed class Config : IProxyConfig
    {
        private readonly CancellationTokenSource _change = new();

        public Config(RoutingSnapshot snapshot, LoadBalancing loadBalancing)
        {
            Routes = ProxyConfigBuilder.Routes(snapshot);
            Clusters = ProxyConfigBuilder.Clusters(snapshot, loadBalancing);
            ChangeToken = new CancellationChangeToken(_change.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }

        public IReadOnlyList<ClusterConfig> Clusters { get; }

        public IChangeToken ChangeToken { get; }

        public void Changed() => _change.Cancel();
    }
}
