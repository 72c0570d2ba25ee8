using System.ComponentModel;
using System.Runtime.CompilerServices;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Nodes;

/// <summary>
/// IPv6 routing (RFC 8200, RFC 4443): longest-prefix match, hop-limit decrement (no checksum in the IPv6
/// header, and the L4 pseudo-header does not cover the hop limit), errors to icmp-error. IPv6 routers never
/// fragment, so anything over the egress MTU gets Packet Too Big. An unresolved next hop turns the packet
/// into a Neighbor Solicitation (RFC 4861 §7.2.2), at most one per second per next hop; so does an unknown host
/// on the uplink's connected subnet (a glean adjacency: its MAC comes from the neighbour table).
/// </summary>
public sealed class Ip6Lookup : RouteLookup<Ip6Lookup.Drop, Ip6Lookup.Event>
{
    public enum Drop
    {
        [Description("destination is multicast or link-local; the dataplane does not route those")]
        NotRoutable,
        [Description("next hop's MAC not resolved yet (a neighbor solicitation is out)")]
        NextHopUnresolved,
    }

    public enum Event
    {
        [Description("neighbor solicitations sent to resolve next hops")]
        SolicitationsSent,
    }

    private readonly Fib6 _fib;

    public Ip6Lookup(PortTable ports, LocalAddresses local, Fib fib, AdjacencyTable adjacencies)
        : base(ports, local, adjacencies)
    {
        _fib = fib.V6;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Span<byte> frame = batch.Frame(p);
            Ipv6Header.TryParse(frame.Slice(meta.L3Offset), out Ipv6Header ip);
            Ip6Address destination = ip.Destination;
            if (destination.IsMulticast || destination.IsLinkLocal)
            {
                Drop<TTrace>(graph, p, Drop.NotRoutable);
                continue;
            }

            int index = _fib.Lookup(destination);
            if (index < 0)
            {
                SendIcmp<TTrace>(graph, p, ref meta, Icmp6Type.DestinationUnreachable, Icmp6Type.CodeNoRoute);
                continue;
            }

            ref Adjacency adjacency = ref Adjacencies[index];
            switch (adjacency.Kind)
            {
                case AdjacencyKind.Local:
                    Forward<TTrace>(graph, p, Next.IpLocal, TraceLocal);
                    continue;
                case AdjacencyKind.PodSubnet:
                    SendIcmp<TTrace>(graph, p, ref meta, Icmp6Type.DestinationUnreachable, Icmp6Type.CodeAddressUnreachable);
                    continue;
            }

            if (ip.HopLimit <= 1)
            {
                SendIcmp<TTrace>(graph, p, ref meta, Icmp6Type.TimeExceeded, Icmp6Type.CodeHopLimitExceeded);
                continue;
            }

            if (adjacency.Kind == AdjacencyKind.Vxlan)
            {
                // vxlan-encap checks the tunnel's MTU, decrements the hop limit and resolves the VTEP.
                Forward<TTrace>(graph, p, Next.VxlanEncap, TraceVxlan, adjacency.NextHop.V4.Value);
                continue;
            }

            int mtu = Ports.Mtu[adjacency.Port];
            if (ip.Datagram.Length > mtu && (meta.Flags & PacketFlags.Offloaded) == 0)
            {
                meta.IcmpMtu = (ushort)mtu;
                SendIcmp<TTrace>(graph, p, ref meta, Icmp6Type.PacketTooBig, 0);
                continue;
            }

            ulong mac = adjacency.Kind == AdjacencyKind.Glean ? Neighbors.Lookup(destination, meta.Timestamp) : Volatile.Read(ref adjacency.Mac);
            if (mac == 0)
            {
                if (adjacency.Kind == AdjacencyKind.Glean)
                {
                    Glean<TTrace>(graph, p, ref meta, adjacency.Port, destination);
                }
                else
                {
                    Solicit<TTrace>(graph, p, ref meta, ref adjacency);
                }

                continue;
            }

            ip.HopLimit--;
            EthernetHeader.Write(frame, new MacAddress(mac), Local[adjacency.Port].Mac, EtherType.Ipv6);
            meta.TxPort = adjacency.Port;
            Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceRewrite, adjacency.Port, (long)mac);
        }
    }

    private void Solicit<TTrace>(Graph graph, ushort p, ref PacketMeta meta, ref Adjacency adjacency)
        where TTrace : struct, ITraceMode
    {
        CountDrop(Drop.NextHopUnresolved);
        ref readonly LocalAddress uplink = ref Local[adjacency.Port];
        bool recent = adjacency.SolicitedRecently(meta.Timestamp);
        if (recent || !uplink.HasIp6)
        {
            graph.Trace<TTrace>(this, p, TraceSolicit, 0);
            return;
        }

        adjacency.LastSolicit = meta.Timestamp;
        Span<byte> frame = graph.Batch.Slot(p).Slice(meta.Offset);
        meta.Length = NeighborSolicitations.WriteNeighborSolicitation(frame, uplink.Mac, uplink.Ip6, adjacency.NextHop.V6);
        meta.L3Offset = EthernetHeader.Size;
        meta.L4Offset = EthernetHeader.Size + Ipv6Header.Size;
        meta.Flags = (meta.Flags & PacketFlags.Traced) | PacketFlags.Ip6 | PacketFlags.NeighborDiscovery | PacketFlags.L2Multicast;
        meta.TxPort = adjacency.Port;
        Count(Event.SolicitationsSent);
        Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceSolicit, 1);
    }

    /// <summary>An unknown host on the uplink's subnet: the packet becomes a solicitation for it, or is dropped if one went out recently.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Glean<TTrace>(Graph graph, ushort p, ref PacketMeta meta, ushort port, Ip6Address destination)
        where TTrace : struct, ITraceMode
    {
        CountDrop(Drop.NextHopUnresolved);
        ref readonly LocalAddress uplink = ref Local[port];
        if (!uplink.HasIp6 || !GleanThrottle.TryTake(destination, meta.Timestamp))
        {
            graph.Trace<TTrace>(this, p, TraceSolicit, 0);
            return;
        }

        Span<byte> frame = graph.Batch.Slot(p).Slice(meta.Offset);
        meta.Length = NeighborSolicitations.WriteNeighborSolicitation(frame, uplink.Mac, uplink.Ip6, destination);
        meta.L3Offset = EthernetHeader.Size;
        meta.L4Offset = EthernetHeader.Size + Ipv6Header.Size;
        meta.Flags = (meta.Flags & PacketFlags.Traced) | PacketFlags.Ip6 | PacketFlags.NeighborDiscovery | PacketFlags.L2Multicast;
        meta.TxPort = port;
        Count(Event.SolicitationsSent);
        Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceSolicit, 1);
    }

    public override string FormatTrace(in TraceRecord record) => record.Code switch
    {
        TraceLocal => "for the dataplane itself",
        TraceRewrite => $"hop-limit-1, to port {record.A} dst-mac {new MacAddress((ulong)record.B)}",
        TraceSolicit => record.A == 1 ? "next hop unresolved: packet becomes a neighbor solicitation" : "next hop unresolved: solicitation already out, packet dropped",
        TraceIcmp => $"icmpv6 type {record.A} code {record.B}",
        TraceVxlan => $"over vxlan to vtep {new Ip4Address((uint)record.A)}",
        _ => "",
    };
}
