using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane.Control;

/// <summary>
/// The one writer of the routes that follow the cluster: one per other node's pod CIDR, from the API server's Nodes
/// (or an <c>--objects</c> file), host-gw or VXLAN, as flannel programs them. node.yaml's <c>routes:</c> stay as the
/// config made them; a learned route for a CIDR the file already routes is refused, so the file always wins.
/// <para>
/// Like <see cref="PodController"/>, <see cref="Replace"/> changes what workers read (the FIB and adjacencies), so the
/// daemon runs it while no graph runs a batch. Routes are compared as values: an unchanged Node list changes
/// nothing. Next hops are shared by the routes through them and freed with the last one; the masquerade policy's
/// default non-masquerade list follows (a pod talking to another node's pods keeps its address).
/// </para>
/// </summary>
public sealed class RouteController
{
    /// <summary>
    /// Learned routes a node holds: 5,000 nodes (Kubernetes' largest supported cluster) with a pod CIDR per family.
    /// Each takes up to two adjacencies (its next hop and, for VXLAN, its tunnel), reserved when the node is built.
    /// </summary>
    public const int MaxRoutes = 10_000;

    private readonly NodeDataplane _node;
    private readonly HashSet<IpPrefix> _staticCidrs = [];
    private readonly HashSet<IpAddress> _staticNextHops = [];
    private readonly Dictionary<IpPrefix, Applied> _applied = [];
    private readonly Dictionary<IpAddress, (int Index, int Users)> _nextHops = [];
    private readonly Lock _lock = new();

    internal RouteController(NodeDataplane node)
    {
        _node = node;
        foreach (RouteConfig route in node.Config.Routes)
        {
            _staticCidrs.Add(route.Cidr);
            _staticNextHops.Add(route.Via);
        }
    }

    /// <summary>The learned routes applied now, by CIDR.</summary>
    public IReadOnlyList<RouteConfig> Routes
    {
        get
        {
            lock (_lock)
            {
                return [.. _applied.Values.Select(static a => a.Route).OrderBy(static r => r.Cidr.ToString(), StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Why <paramref name="route"/> cannot be applied on this node, or null when it can.</summary>
    public string? Problem(RouteConfig route)
    {
        ArgumentNullException.ThrowIfNull(route);
        NodeSettings node = _node.Config.Node;
        if (node.Uplink is not { } uplink)
        {
            return "routes to other nodes need node.uplink";
        }

        if (route.Cidr.IsV4 != route.Via.IsV4)
        {
            return $"next hop {route.Via} is not of the CIDR's family";
        }

        if (_staticCidrs.Contains(route.Cidr))
        {
            return "node.yaml routes this CIDR already (the file wins)";
        }

        foreach (IpPrefix? own in (ReadOnlySpan<IpPrefix?>)[node.PodCidr, node.PodCidrV6])
        {
            if (own is { } mine && IpPrefix.Overlap(mine, route.Cidr))
            {
                return $"overlaps this node's pod CIDR {mine}";
            }
        }

        IpAddress? address = route.Via.IsV4 ? uplink.Ip : uplink.IpV6 is { } v6 ? v6 : null;
        int length = route.Via.IsV4 ? uplink.PrefixLength : uplink.PrefixLengthV6;
        if (address is not { } self)
        {
            return "IPv6 routes need node.uplink.ipV6";
        }

        if (route.Via == self)
        {
            return $"next hop {route.Via} is this node's own address";
        }

        bool linkLocal = !route.Via.IsV4 && route.Via.V6.IsLinkLocal;
        IpPrefix subnet = IpPrefix.Containing(self, length);
        if (!linkLocal && !subnet.Contains(route.Via))
        {
            return $"next hop {route.Via} is not on the uplink's subnet {subnet}: host-gw routing needs one L2 segment (use VXLAN across subnets)";
        }

        return route.IsVxlan && node.Vxlan is null ? "a VXLAN route needs node.vxlan" : null;
    }

    /// <summary>
    /// Makes <paramref name="routes"/> the whole learned set: routes not in it are deleted, new and changed ones
    /// programmed, equal ones untouched. A route with a <see cref="Problem"/> (or for which the FIB or the adjacency
    /// table has no room) is refused and listed with its reason; the others are applied regardless.
    /// </summary>
    public RouteSync Replace(IReadOnlyList<RouteConfig> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var sync = new RouteSync();
        lock (_lock)
        {
            var wanted = new Dictionary<IpPrefix, RouteConfig>();
            foreach (RouteConfig route in routes)
            {
                if (!wanted.TryAdd(route.Cidr, route))
                {
                    sync.Refused.Add((route, $"{route.Cidr} is routed twice (via {wanted[route.Cidr].Via} and {route.Via})"));
                }
            }

            foreach ((IpPrefix cidr, Applied applied) in _applied.ToArray())
            {
                if (!wanted.TryGetValue(cidr, out RouteConfig? next) || next != applied.Route)
                {
                    _node.Fib.Delete(cidr);
                    Release(applied);
                    _applied.Remove(cidr);
                    if (next is null)
                    {
                        sync.Removed.Add(applied.Route);
                    }
                }
            }

            foreach (RouteConfig route in wanted.Values)
            {
                if (_applied.ContainsKey(route.Cidr))
                {
                    sync.Unchanged++;
                    continue;
                }

                if (Problem(route) is { } problem)
                {
                    sync.Refused.Add((route, problem));
                    continue;
                }

                if (_applied.Count >= MaxRoutes || _node.Adjacencies.Available < 2)
                {
                    sync.Refused.Add((route, $"the node holds {MaxRoutes} learned routes, all in use"));
                    continue;
                }

                Applied applied = Program(route);
                FibResult result = _node.Fib.Insert(route.Cidr, applied.Adjacency);
                if (result is not (FibResult.Added or FibResult.Replaced))
                {
                    Release(applied);
                    sync.Refused.Add((route, $"the FIB has no room ({result})"));
                    continue;
                }

                _applied[route.Cidr] = applied;
                sync.Applied.Add(route);
            }

            if (sync.Changed)
            {
                RepublishMasquerade();
            }
        }

        return sync;
    }

    private Applied Program(RouteConfig route)
    {
        ushort uplink = _node.Uplink!.Id;
        int nextHop;
        if (_nextHops.TryGetValue(route.Via, out (int Index, int Users) shared))
        {
            nextHop = shared.Index;
            _nextHops[route.Via] = (shared.Index, shared.Users + 1);
        }
        else
        {
            nextHop = _node.Adjacencies.AddNextHop(route.Via, uplink, route.ViaMac);
            _nextHops[route.Via] = (nextHop, 1);
        }

        if (route.VtepMac is not { } vtepMac)
        {
            return new Applied(route, nextHop, Tunnel: -1);
        }

        int tunnel = _node.Adjacencies.Add(new Adjacency
        {
            Kind = AdjacencyKind.Vxlan, Port = uplink, NextHop = route.Via, Static = true, VtepMac = vtepMac.Value, Underlay = nextHop,
        });
        return new Applied(route, tunnel, tunnel);
    }

    private void Release(Applied applied)
    {
        if (applied.Tunnel >= 0)
        {
            _node.Adjacencies.Remove(applied.Tunnel);
        }

        IpAddress via = applied.Route.Via;
        (int index, int users) = _nextHops[via];
        if (users > 1)
        {
            _nextHops[via] = (index, users - 1);
            return;
        }

        _nextHops.Remove(via);
        if (!_staticNextHops.Contains(via))
        {
            // node.yaml's routes may share it: they keep it for the node's life.
            _node.Adjacencies.Remove(index);
        }
    }

    private void RepublishMasquerade()
    {
        NodeSettings node = _node.Config.Node;
        if (!_node.Masquerade.Enabled || node.External.NonMasqueradeCidrs is not null)
        {
            return;
        }

        var inside = new List<IpPrefix>(_node.MasqueradeDefaultInside);
        inside.AddRange(_applied.Keys);
        _node.Masquerade.SetNonMasquerade(inside);
    }

    /// <param name="Adjacency">What the FIB entry points at: the next hop (host-gw) or the tunnel (VXLAN).</param>
    private sealed record Applied(RouteConfig Route, int Adjacency, int Tunnel);
}

/// <summary>What one <see cref="RouteController.Replace"/> did.</summary>
public sealed class RouteSync
{
    public List<RouteConfig> Applied { get; } = [];

    public List<RouteConfig> Removed { get; } = [];

    public List<(RouteConfig Route, string Problem)> Refused { get; } = [];

    public int Unchanged { get; internal set; }

    public bool Changed => Applied.Count + Removed.Count != 0;

    public override string ToString()
        => $"routes {Applied.Count} applied, {Removed.Count} removed, {Unchanged} unchanged"
            + (Refused.Count == 0 ? "" : $", {Refused.Count} refused ({string.Join("; ", Refused.Select(static r => $"{r.Route.Cidr}: {r.Problem}"))})");
}
