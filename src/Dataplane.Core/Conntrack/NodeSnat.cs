using Dataplane.Packets;

namespace Dataplane.Conntrack;

/// <summary>
/// The node's addresses and the source ports that flows source-NATed to the node (<see cref="FlowFlags.SnatNode"/>)
/// take: node.uplink's addresses and node.masquerade.ports (61000-65535 by default: outside Linux's ephemeral range, so
/// never a port the node's own stack picks, and outside the node-port range).
/// </summary>
public sealed record NodeSnat(IpAddress V4, IpAddress V6, ushort PortMin, ushort PortMax)
{
    public static NodeSnat None { get; } = new(default(IpAddress), default(IpAddress), 61000, 65535);
}
