using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Nodes;

/// <summary>
/// What ip4-lookup and ip6-lookup share: their next stages, the adjacencies routes resolve to, our
/// addresses and each port's MTU, and handing a packet to icmp-error. The per-family work (header fields,
/// TTL vs hop limit, ARP vs neighbor solicitation) stays in each stage's own file.
/// </summary>
/// <typeparam name="TDrop">The family's own drop reasons.</typeparam>
/// <typeparam name="TEvent">The family's own events.</typeparam>
public abstract class RouteLookup<TDrop, TEvent> : Node<RouteLookup<TDrop, TEvent>.Next, TDrop, TEvent>
    where TDrop : struct, Enum
    where TEvent : struct, Enum
{
    public enum Next
    {
        IpLocal,
        IcmpError,
        InterfaceOutput,
        VxlanEncap,
    }

    protected const ushort TraceLocal = 1;
    protected const ushort TraceRewrite = 2;
    protected const ushort TraceSolicit = 3;
    protected const ushort TraceIcmp = 4;
    protected const ushort TraceVxlan = 5;

    protected RouteLookup(PortTable ports, LocalAddresses local, AdjacencyTable adjacencies)
    {
        Adjacencies = adjacencies;
        Neighbors = adjacencies.Neighbors;
        Local = local.PerPort(ports);
        Ports = ports;
    }

    protected AdjacencyTable Adjacencies { get; }

    /// <summary>The uplink subnet's hosts, where a <see cref="AdjacencyKind.Glean"/> adjacency finds each destination's MAC.</summary>
    protected NeighborTable Neighbors { get; }

    /// <summary>This worker's limit of one request a second per unresolved host on the uplink's subnet.</summary>
    protected SolicitThrottle GleanThrottle { get; } = new();

    /// <summary>Our MAC and addresses per port id.</summary>
    protected LocalAddress[] Local { get; }

    /// <summary>The ports, for their MTU (<see cref="PortTable.Mtu"/>).</summary>
    protected PortTable Ports { get; }

    protected void SendIcmp<TTrace>(Graph graph, ushort p, ref PacketMeta meta, byte type, byte code)
        where TTrace : struct, ITraceMode
    {
        meta.IcmpType = type;
        meta.IcmpCode = code;
        Forward<TTrace>(graph, p, Next.IcmpError, TraceIcmp, type, code);
    }
}
