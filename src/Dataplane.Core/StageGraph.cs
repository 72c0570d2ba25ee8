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
    public static GraphDefinition<StageContext> Definition { get; } = new GraphDefinition<StageContext>()
        .Stage(static c => new EthernetInput(c.Node.Ports, c.Node.Local.UplinkMac, c.Node.Config.Node.Vxlan?.Port ?? 0, c.Node.Local.UplinkIp))
        .Stage(static c => new VxlanInput(c.Node.Config.Node.Vxlan))
        .Stage(static _ => new ArpInput())
        .Stage(static _ => new Ip4Input())
        .Stage(static _ => new Ip6Input())
        .Stage(static c => new SourceGuard(c.Node.Ports))
        .Stage(static c => new Arp(c.Node.Ports, c.Node.Local, c.Node.Adjacencies, c.Node.MacTable, c.Node.Announced))
        .Stage(static c => new Ndp(c.Node.Ports, c.Node.Local, c.Node.Adjacencies, c.Node.Announced))
        .Stage(static c => new Nodes.Conntrack(c.Node.Conntrack, c.Node.Services, c.Node.Timeouts, c.Node.Local, new ConntrackSweeper(c.Node.Conntrack, c.Worker, c.Workers), c.Node.Masquerade, c.Node.Ports))
        .Stage(static c => new Bridge(c.Node.Ports, c.Node.Local, c.Node.MacTable))
        .Stage(static c => new Ip4Lookup(c.Node.Ports, c.Node.Local, c.Node.Fib, c.Node.Adjacencies))
        .Stage(static c => new Ip6Lookup(c.Node.Ports, c.Node.Local, c.Node.Fib, c.Node.Adjacencies))
        .Stage(static c => new IpLocal(c.Node.Ports, c.Node.Local))
        .Stage(static c => new VxlanEncap(c.Node.Ports, c.Node.Local, c.Node.Fib, c.Node.Adjacencies, c.Node.Config.Node.Vxlan))
        .Stage(static c => new IcmpError(c.Node.Ports, c.Node.Local, c.Node.IcmpErrorLimit))
        .Stage(static c => new IcmpErrorNat(new FlowTranslator(c.Node.Conntrack, c.Node.Local)))
        .Stage(static c => new NeighborProbe(c.Node.Ports, c.Node.Local, c.Node.Adjacencies))
        .Stage(static c => new InterfaceOutput(c.Node.Ports));
}
