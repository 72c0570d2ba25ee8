using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Conntrack;

/// <summary>
/// The node's addresses and the source ports flows source-NATed to the node (<see cref="FlowFlags.SnatNode"/>) may
/// leave with: node.masquerade.ports (1024-65535 by default) without the node-port range, so no reply of a masqueraded
/// flow is ever addressed to a node port (the kube-proxy bug class where a reply after its entry expired is taken for a
/// new NodePort connection). A flow keeps its own port when that is allowed and free, as nf_nat does; the node's own
/// connections through the host port are tracked too, so a clash with one is found and avoided like any other.
/// </summary>
public sealed record NodeSnat(IpAddress V4, IpAddress V6, ushort PortMin, ushort PortMax, ushort SkipMin, ushort SkipMax)
{
    public static NodeSnat None { get; } = new(default(IpAddress), default(IpAddress),
        (ushort)ExternalTraffic.Default.SnatPortMin, (ushort)ExternalTraffic.Default.SnatPortMax,
        (ushort)ExternalTraffic.Default.NodePortMin, (ushort)ExternalTraffic.Default.NodePortMax);

    /// <summary>How many ports the range offers once the skipped ones are taken out.</summary>
    public int Count => PortMax - PortMin + 1 - Overlap;

    private int Overlap => Math.Max(0, Math.Min(PortMax, SkipMax) - Math.Max(PortMin, SkipMin) + 1);

    public bool Allows(ushort port) => port >= PortMin && port <= PortMax && (port < SkipMin || port > SkipMax);

    /// <summary>The <paramref name="index"/>-th allowed port (0 &lt;= index &lt; <see cref="Count"/>), in order.</summary>
    public ushort At(int index)
    {
        int port = PortMin + index;
        return (ushort)(Overlap > 0 && port >= SkipMin ? port + Overlap : port);
    }
}
