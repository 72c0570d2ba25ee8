using Dataplane.Conntrack;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Control;

/// <summary>
/// The one writer of the node's pods: a pod's port (<see cref="PortTable"/>), its host routes (/32 and /128 straight
/// to its port and MAC), its static MAC entry (a frame to a known pod is never flooded to the others) and, on
/// removal, its tracked flows. Static pods from node.yaml come in at start, the others at run time (`ctl pod add`,
/// the CNI plugin). <see cref="Add"/> and <see cref="Remove"/> change what workers read, so they run while no graph
/// runs a batch (the daemon pauses its workers around them); <see cref="FlushFlows"/> is safe at any time.
/// </summary>
public sealed class PodController
{
    private readonly NodeDataplane _node;
    private readonly Dictionary<string, Attached> _pods = new(StringComparer.Ordinal);
    private PodConfig[] _snapshot = [];

    internal PodController(NodeDataplane node)
    {
        _node = node;
    }

    /// <summary>
    /// The pods now, in the order they were added: a copy published on every change, so /readyz, metrics and `ctl`
    /// read it from their own threads while the control plane adds and removes pods.
    /// </summary>
    public IReadOnlyList<PodConfig> Pods => Volatile.Read(ref _snapshot);

    public bool TryGet(string name, out PodConfig pod, out Port port)
    {
        if (_pods.TryGetValue(name, out Attached? attached))
        {
            (pod, port) = (attached.Pod, attached.Port);
            return true;
        }

        (pod, port) = (null!, null!);
        return false;
    }

    /// <summary>What stops <paramref name="pod"/> from being added (empty when nothing): one sentence per problem.</summary>
    public IReadOnlyList<string> Problems(PodConfig pod, int mtu)
    {
        var problems = new List<string>();
        NodeSettings node = _node.Config.Node;
        if (string.IsNullOrEmpty(pod.Name))
        {
            problems.Add("the pod has no name");
        }
        else if (_pods.ContainsKey(pod.Name) || _node.Ports.TryGet(pod.Name, out _))
        {
            problems.Add($"a port named '{pod.Name}' exists already");
        }

        if (!node.PodCidr.Contains(pod.Ip))
        {
            problems.Add($"{pod.Ip} is outside the node's pod CIDR {node.PodCidr}");
        }
        else if (pod.Ip == node.GatewayIp || IsNetworkOrBroadcast(node.PodCidr, pod.Ip))
        {
            problems.Add($"{pod.Ip} is the gateway, network or broadcast address of {node.PodCidr}");
        }

        if (pod.IpV6 is { } ip6)
        {
            if (node.PodCidrV6 is not { } cidr6)
            {
                problems.Add($"{ip6}: the node has no IPv6 pod CIDR (node.podCidrV6)");
            }
            else if (!cidr6.Contains(ip6) || ip6 == node.GatewayIpV6)
            {
                problems.Add($"{ip6} is outside the node's IPv6 pod CIDR {cidr6} or is its gateway");
            }
        }

        if (pod.Mac.Value == 0 || (pod.Mac.Value & (1UL << 40)) != 0 || pod.Mac == node.Mac)
        {
            problems.Add($"MAC {pod.Mac} must be unicast, non-zero and not the gateway's");
        }

        if (mtu is < 68 or > 65535)
        {
            problems.Add($"MTU {mtu} is outside 68..65535");
        }

        foreach (Attached other in _pods.Values)
        {
            if (other.Pod.Name == pod.Name)
            {
                continue;
            }

            if (other.Pod.Ip == pod.Ip || (pod.IpV6 is { } v6 && other.Pod.IpV6 == v6))
            {
                problems.Add($"pod {other.Pod.Name} has that address already");
            }

            if (other.Pod.Mac == pod.Mac)
            {
                problems.Add($"pod {other.Pod.Name} has MAC {pod.Mac} already");
            }
        }

        if (_node.Ports.IsFull || _pods.Count >= _node.MaxPods)
        {
            problems.Add($"the node holds {_node.MaxPods} pods (dataplane.maxPods), all in use");
        }

        return problems;
    }

    /// <summary>
    /// Adds the pod's port, host routes and static MAC entry. <paramref name="linkLocal"/> is the IPv6 link-local
    /// address the pod's interface really has when it is not derived from its MAC (stable_privacy). Throws
    /// <see cref="InvalidOperationException"/> with every <see cref="Problems"/> when it cannot, changing nothing.
    /// </summary>
    public Port Add(PodConfig pod, int mtu, Ip6Address? linkLocal = null)
    {
        IReadOnlyList<string> problems = Problems(pod, mtu);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"pod {pod.Name}: {string.Join("; ", problems)}");
        }

        Port port = _node.Ports.Add(pod.Name, PortKind.Pod, pod.Mac, pod.Ip, pod.IpV6, mtu, linkLocal);
        int adjacency = _node.Adjacencies.Add(new Adjacency { Kind = AdjacencyKind.Pod, Port = port.Id, Mac = pod.Mac.Value, Static = true });
        _node.AddRoute(new IpPrefix(pod.Ip, 32), adjacency);
        if (pod.IpV6 is { } ip6)
        {
            _node.AddRoute(new IpPrefix(ip6, 128), adjacency);
        }

        // A full bucket of static MACs (eight pods hashing alike) only means frames to this pod are flooded.
        _ = _node.MacTable.AddStatic(pod.Mac, port.Id);
        _pods.Add(pod.Name, new Attached(pod, port, adjacency, _sequence++));
        Publish();
        return port;
    }

    /// <summary>
    /// Takes the pod's routes, MAC entries and port away (the pod CIDR route answers for its address again: host
    /// unreachable). Returns the pod, or null if there is none by that name. Its flows are <see cref="FlushFlows"/>'s.
    /// </summary>
    public PodConfig? Remove(string name)
    {
        if (!_pods.Remove(name, out Attached? attached))
        {
            return null;
        }

        PodConfig pod = attached.Pod;
        _node.Fib.Delete(new IpPrefix(pod.Ip, 32));
        if (pod.IpV6 is { } ip6)
        {
            _node.Fib.Delete(new IpPrefix(ip6, 128));
        }

        _node.Adjacencies.Remove(attached.Adjacency);
        _node.MacTable.Flush(attached.Port.Id);
        _node.Ports.Remove(attached.Port.Id);
        Publish();
        return pod;
    }

    /// <summary>
    /// Removes every tracked flow with one of the pod's addresses on either side (as client, server or service
    /// backend), so a pod that comes back with the same address starts clean. Returns how many went.
    /// </summary>
    public int FlushFlows(PodConfig pod)
    {
        IpAddress ip4 = pod.Ip;
        IpAddress ip6 = pod.IpV6 is { } v6 ? v6 : default;
        bool hasIp6 = pod.IpV6 is not null;
        return _node.Conntrack.RemoveWhere(flow => Involves(flow, ip4) || (hasIp6 && Involves(flow, ip6)));
    }

    private static bool Involves(FlowEntry flow, IpAddress ip)
    {
        Ip6Address bits = ip.Bits;
        return (flow.Original.SourceHi == bits.Hi && flow.Original.SourceLo == bits.Lo)
            || (flow.Original.DestinationHi == bits.Hi && flow.Original.DestinationLo == bits.Lo)
            || (flow.NatHi == bits.Hi && flow.NatLo == bits.Lo);
    }

    private static bool IsNetworkOrBroadcast(IpPrefix cidr, Ip4Address ip)
    {
        if (cidr.Length >= 31)
        {
            return false;
        }

        uint host = ip.Value & (uint.MaxValue >> cidr.Length);
        return host == 0 || host == uint.MaxValue >> cidr.Length;
    }

    private long _sequence;

    private void Publish() => Volatile.Write(ref _snapshot, [.. _pods.Values.OrderBy(static p => p.Sequence).Select(static p => p.Pod)]);

    private sealed record Attached(PodConfig Pod, Port Port, int Adjacency, long Sequence);
}
