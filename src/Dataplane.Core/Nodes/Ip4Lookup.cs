using System.ComponentModel;
using System.Runtime.CompilerServices;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Nodes;

/// <summary>
/// IPv4 routing (RFC 1812 §5.2-5.3): longest-prefix match, then per adjacency: deliver to the dataplane
/// itself, rewrite to a local pod, or send to another node's next hop through the uplink. Decrements TTL
/// with an incremental checksum; hands TTL expiry, no route, unknown pod and too-big-with-DF to icmp-error.
/// An unresolved next hop turns the packet into an ARP request for it (at most one per second per next
/// hop) and counts the packet as dropped, as Linux does once its small unresolved queue is full. On the uplink's
/// connected subnet (a glean adjacency) the destination itself is the next hop: its MAC comes from the neighbour
/// table, and an unknown host is ARPed for the same way.
/// </summary>
public sealed class Ip4Lookup : RouteLookup<Ip4Lookup.Drop, Ip4Lookup.Event>
{
    public enum Drop
    {
        [Description("destination is multicast or broadcast; the dataplane does not route those")]
        NotRoutable,
        [Description("next hop's MAC not resolved yet (an ARP request is out)")]
        NextHopUnresolved,
        [Description("packet larger than the egress MTU without DF; the dataplane does not fragment")]
        FragmentationNeeded,
    }

    public enum Event
    {
        [Description("ARP requests sent to resolve next hops")]
        ArpRequestsSent,
    }

    private readonly Fib4 _fib;

    public Ip4Lookup(PortTable ports, LocalAddresses local, Fib fib, AdjacencyTable adjacencies)
        : base(ports, local, adjacencies)
    {
        _fib = fib.V4;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Span<byte> frame = batch.Frame(p);
            Ipv4Header.TryParse(frame.Slice(meta.L3Offset), out Ipv4Header ip);
            Ip4Address destination = ip.Destination;
            if (destination.IsMulticast || destination.IsLimitedBroadcast)
            {
                Drop<TTrace>(graph, p, Drop.NotRoutable, destination.Value);
                continue;
            }

            int index = _fib.Lookup(destination);
            if (index < 0)
            {
                SendIcmp<TTrace>(graph, p, ref meta, Icmp4Type.DestinationUnreachable, Icmp4Type.CodeNetUnreachable);
                continue;
            }

            ref Adjacency adjacency = ref Adjacencies[index];
            switch (adjacency.Kind)
            {
                case AdjacencyKind.Local:
                    Forward<TTrace>(graph, p, Next.IpLocal, TraceLocal, destination.Value);
                    continue;
                case AdjacencyKind.PodSubnet:
                    SendIcmp<TTrace>(graph, p, ref meta, Icmp4Type.DestinationUnreachable, Icmp4Type.CodeHostUnreachable);
                    continue;
            }

            if (ip.TimeToLive <= 1)
            {
                SendIcmp<TTrace>(graph, p, ref meta, Icmp4Type.TimeExceeded, Icmp4Type.CodeTtlExceeded);
                continue;
            }

            if (adjacency.Kind == AdjacencyKind.Vxlan)
            {
                // vxlan-encap checks the tunnel's MTU, decrements TTL and resolves the VTEP.
                Forward<TTrace>(graph, p, Next.VxlanEncap, TraceVxlan, adjacency.NextHop.V4.Value);
                continue;
            }

            int mtu = Ports.Mtu[adjacency.Port];
            if (ip.TotalLength > mtu && (meta.Flags & PacketFlags.Offloaded) == 0)
            {
                if (ip.DontFragment)
                {
                    meta.IcmpMtu = (ushort)mtu;
                    SendIcmp<TTrace>(graph, p, ref meta, Icmp4Type.DestinationUnreachable, Icmp4Type.CodeFragmentationNeeded);
                }
                else
                {
                    Drop<TTrace>(graph, p, Drop.FragmentationNeeded, ip.TotalLength, mtu);
                }

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

            ip.DecrementTtl();
            EthernetHeader.Write(frame, new MacAddress(mac), Local[adjacency.Port].Mac, EtherType.Ipv4);
            meta.L3Offset = EthernetHeader.Size;
            meta.TxPort = adjacency.Port;
            Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceRewrite, adjacency.Port, (long)mac);
        }
    }

    /// <summary>Reuses the packet's buffer for an ARP request to the unresolved next hop, or drops it if one went out recently.</summary>
    private void Solicit<TTrace>(Graph graph, ushort p, ref PacketMeta meta, ref Adjacency adjacency)
        where TTrace : struct, ITraceMode
    {
        CountDrop(Drop.NextHopUnresolved);
        if (adjacency.SolicitedRecently(meta.Timestamp))
        {
            if (TTrace.Enabled)
            {
                graph.Trace<TTrace>(this, p, TraceSolicit, adjacency.NextHop.V4.Value, 0);
            }

            return;
        }

        adjacency.LastSolicit = meta.Timestamp;
        ref readonly LocalAddress uplink = ref Local[adjacency.Port];
        Span<byte> frame = graph.Batch.Slot(p).Slice(meta.Offset);
        meta.Length = NeighborSolicitations.WriteArpRequest(frame, uplink.Mac, uplink.Ip4, adjacency.NextHop.V4);
        meta.L3Offset = EthernetHeader.Size;
        meta.Flags = (meta.Flags & PacketFlags.Traced) | PacketFlags.Arp;
        meta.TxPort = adjacency.Port;
        Count(Event.ArpRequestsSent);
        Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceSolicit, adjacency.NextHop.V4.Value, 1);
    }

    /// <summary>An unknown host on the uplink's subnet: the packet becomes an ARP request for it, or is dropped if one went out recently.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Glean<TTrace>(Graph graph, ushort p, ref PacketMeta meta, ushort port, Ip4Address destination)
        where TTrace : struct, ITraceMode
    {
        CountDrop(Drop.NextHopUnresolved);
        if (!GleanThrottle.TryTake(destination, meta.Timestamp))
        {
            graph.Trace<TTrace>(this, p, TraceSolicit, destination.Value, 0);
            return;
        }

        ref readonly LocalAddress uplink = ref Local[port];
        Span<byte> frame = graph.Batch.Slot(p).Slice(meta.Offset);
        meta.Length = NeighborSolicitations.WriteArpRequest(frame, uplink.Mac, uplink.Ip4, destination);
        meta.L3Offset = EthernetHeader.Size;
        meta.Flags = (meta.Flags & PacketFlags.Traced) | PacketFlags.Arp;
        meta.TxPort = port;
        Count(Event.ArpRequestsSent);
        Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceSolicit, destination.Value, 1);
    }

    public override string FormatTrace(in TraceRecord record) => record.Code switch
    {
        TraceLocal => $"{new Ip4Address((uint)record.A)} is ours",
        TraceRewrite => $"ttl-1, to port {record.A} dst-mac {new MacAddress((ulong)record.B)}",
        TraceSolicit => record.B == 1
            ? $"next hop {new Ip4Address((uint)record.A)} unresolved: packet becomes an ARP request"
            : $"next hop {new Ip4Address((uint)record.A)} unresolved: ARP request already out, packet dropped",
        TraceIcmp => $"icmp type {record.A} code {record.B}",
        TraceVxlan => $"over vxlan to vtep {new Ip4Address((uint)record.A)}",
        _ => "",
    };
}
