using Dataplane.Conntrack;
using Dataplane.Nodes;
using Dataplane.Pipeline;

namespace Dataplane;

/// <summary>
/// The node's stage graph, declared once. Each line is a stage and how it is built from the node's shared
/// tables; its edges are its <c>Next</c> enum, its run order is computed from them. Adding a stage is one new
/// file in <c>Nodes/</c> and one line here (and the README's diagram, which a test checks against this).
/// <c>dataplane graph</c> prints it.
/// </summary>
public static class StageGraph
{
    public static GraphDefinition<NodeDataplane> Definition { get; } = new GraphDefinition<NodeDataplane>()
        .Stage(static d => new EthernetInput(d.Ports, d.Local.UplinkMac))
        .Stage(static _ => new ArpInput())
        .Stage(static _ => new Ip4Input())
        .Stage(static _ => new Ip6Input())
        .Stage(static d => new SourceGuard(d.Ports))
        .Stage(static d => new Arp(d.Ports, d.Local, d.Adjacencies, d.MacTable))
        .Stage(static d => new Ndp(d.Ports, d.Local, d.Adjacencies))
        .Stage(static d => new Nodes.Conntrack(d.Conntrack, d.Services, d.Timeouts, d.Local))
        .Stage(static d => new Bridge(d.Ports, d.Local, d.MacTable))
        .Stage(static d => new Ip4Lookup(d.Ports, d.Local, d.Fib, d.Adjacencies))
        .Stage(static d => new Ip6Lookup(d.Ports, d.Local, d.Fib, d.Adjacencies))
        .Stage(static d => new IpLocal(d.Ports, d.Local))
        .Stage(static d => new IcmpError(d.Ports, d.Local, d.IcmpErrorLimit))
        .Stage(static d => new IcmpErrorNat(new FlowTranslator(d.Conntrack, d.Local)))
        .Stage(static d => new NeighborProbe(d.Ports, d.Local, d.Adjacencies))
        .Stage(static d => new InterfaceOutput(d.Ports));
}
