using Dataplane.Packets;

namespace Dataplane.Tables;

public enum AdjacencyKind : byte
{
    /// <summary>An address of the dataplane itself (gateway, uplink IP): deliver to ip-local.</summary>
    Local,

    /// <summary>A pod of this node: rewrite to the pod's MAC and send on its port.</summary>
    Pod,

    /// <summary>The node's pod CIDR without a pod at this address: host unreachable.</summary>
    PodSubnet,

    /// <summary>Another node's pod CIDR: send to the next hop through the uplink (MAC resolved by ARP/NDP).</summary>
    NextHop,

    /// <summary>
    /// The uplink's connected subnet (VPP's glean adjacency): the destination itself is the next hop, its MAC found
    /// per packet in <see cref="AdjacencyTable.Neighbors"/>; an unknown one is ARPed / solicited for.
    /// </summary>
    Glean,

    /// <summary>The node's own addresses when it has a host port: rewrite to the kernel TAP's MAC and send on that port.</summary>
    Host,

    /// <summary>
    /// Another node's pod CIDR over VXLAN: encapsulate (vxlan-encap) to the VTEP at <see cref="Adjacency.NextHop"/>,
    /// inner frames to <see cref="Adjacency.VtepMac"/>, outer frames to the MAC of the <see cref="Adjacency.Underlay"/> next hop.
    /// </summary>
    Vxlan,
}

/// <summary>What a route resolves to (VPP's ip_adjacency_t): the rewrite the routing stage applies.</summary>
public struct Adjacency
{
    public AdjacencyKind Kind;

    /// <summary>Output port (a pod port, the uplink or the host port).</summary>
    public ushort Port;

    /// <summary>Destination MAC, written atomically by the ARP/NDP stage when it resolves; 0 while unresolved.</summary>
    public ulong Mac;

    /// <summary>Next hop to resolve (for <see cref="AdjacencyKind.NextHop"/>).</summary>
    public IpAddress NextHop;

    /// <summary>When the last ARP request / neighbor solicitation for it went out (pipeline clock), to send at most one per second.</summary>
    public long LastSolicit;

    /// <summary>At most one ARP request / neighbor solicitation per next hop per second (Linux's retrans_time).</summary>
    public const long SolicitIntervalNanoseconds = 1_000_000_000;

    /// <summary>The MAC came from config (viaMac or a pod) and is never replaced by learning.</summary>
    public bool Static;

    /// <summary>For <see cref="AdjacencyKind.Vxlan"/>: the peer VTEP's MAC, the inner frames' destination (flannel's VtepMAC).</summary>
    public ulong VtepMac;

    /// <summary>For <see cref="AdjacencyKind.Vxlan"/>: the <see cref="AdjacencyKind.NextHop"/> adjacency of the VTEP's IP on the uplink, resolved by ARP.</summary>
    public int Underlay;

    /// <summary>Whether a solicitation for this next hop went out less than <see cref="SolicitIntervalNanoseconds"/> ago.</summary>
    public readonly bool SolicitedRecently(long now) => LastSolicit != 0 && now - LastSolicit < SolicitIntervalNanoseconds;
}
