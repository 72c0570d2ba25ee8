using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Nodes;

/// <summary>
/// IPv6 routing (RFC 8200, RFC 4443): longest-prefix match, hop-limit decrement (no checksum in the IPv6
/// header, and the L4 pseudo-header does not cover the hop limit), errors to icmp-error. IPv6 routers never
/// fragment, so anything over the egress MTU gets Packet Too Big. An unresolved next hop turns the packet
/// into a Neighbor Solicitation (RFC 4861 §7.2.2), at most one per second per next hop.
/// </summary>
public sealed class Ip6Lookup : Node
{
    public enum Next
    {
        IpLocal,
        IcmpError,
        InterfaceOutput,
    }

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

    private const ushort TraceLocal = 1;
    private const ushort TraceRewrite = 2;
    private const ushort TraceSolicit = 3;
    private const ushort TraceIcmp = 4;
    private const long SolicitIntervalNanoseconds = 1_000_000_000;

    private readonly Fib6 _fib;
    private readonly AdjacencyTable _adjacencies;
    private readonly LocalAddress[] _local;
    private readonly int[] _mtu;

    public Ip6Lookup(IReadOnlyList<Port> ports, LocalAddresses local, Fib fib, AdjacencyTable adjacencies)
        : base("ip6-lookup", ["ip-local", "icmp-error", "interface-output"], NamedCounter.Of<Drop>(), NamedCounter.Of<Event>())
    {
        _fib = fib.V6;
        _adjacencies = adjacencies;
        _local = local.PerPort(ports);
        _mtu = new int[ports.Count];
        foreach (Port port in ports)
        {
            _mtu[port.Id] = port.Mtu;
        }
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
                Drop<TTrace>(graph, p, (int)Drop.NotRoutable);
                continue;
            }

            int index = _fib.Lookup(destination);
            if (index < 0)
            {
                SendIcmp<TTrace>(graph, p, ref meta, Icmp6Type.DestinationUnreachable, Icmp6Type.CodeNoRoute);
                continue;
            }

            ref Adjacency adjacency = ref _adjacencies[index];
            switch (adjacency.Kind)
            {
                case AdjacencyKind.Local:
                    Forward<TTrace>(graph, p, (int)Next.IpLocal, TraceLocal);
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

            int mtu = _mtu[adjacency.Port];
            if (ip.Datagram.Length > mtu && (meta.Flags & PacketFlags.Offloaded) == 0)
            {
                meta.IcmpMtu = (ushort)mtu;
                SendIcmp<TTrace>(graph, p, ref meta, Icmp6Type.PacketTooBig, 0);
                continue;
            }

            ulong mac = Volatile.Read(ref adjacency.Mac);
            if (mac == 0)
            {
                Solicit<TTrace>(graph, p, ref meta, ref adjacency);
                continue;
            }

            ip.HopLimit--;
            EthernetHeader.Write(frame, new MacAddress(mac), _local[adjacency.Port].Mac, EtherType.Ipv6);
            meta.TxPort = adjacency.Port;
            Forward<TTrace>(graph, p, (int)Next.InterfaceOutput, TraceRewrite, adjacency.Port, (long)mac);
        }
    }

    private void SendIcmp<TTrace>(Graph graph, ushort p, ref PacketMeta meta, byte type, byte code)
        where TTrace : struct, ITraceMode
    {
        meta.IcmpType = type;
        meta.IcmpCode = code;
        Forward<TTrace>(graph, p, (int)Next.IcmpError, TraceIcmp, type, code);
    }

    private void Solicit<TTrace>(Graph graph, ushort p, ref PacketMeta meta, ref Adjacency adjacency)
        where TTrace : struct, ITraceMode
    {
        Counters.Drops[(int)Drop.NextHopUnresolved]++;
        ref readonly LocalAddress uplink = ref _local[adjacency.Port];
        bool recent = adjacency.LastSolicit != 0 && meta.Timestamp - adjacency.LastSolicit < SolicitIntervalNanoseconds;
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
        Count((int)Event.SolicitationsSent);
        Forward<TTrace>(graph, p, (int)Next.InterfaceOutput, TraceSolicit, 1);
    }

    public override string FormatTrace(in TraceRecord record) => record.Code switch
    {
        TraceLocal => "for the dataplane itself",
        TraceRewrite => $"hop-limit-1, to port {record.A} dst-mac {new MacAddress((ulong)record.B)}",
        TraceSolicit => record.A == 1 ? "next hop unresolved: packet becomes a neighbor solicitation" : "next hop unresolved: solicitation already out, packet dropped",
        TraceIcmp => $"icmpv6 type {record.A} code {record.B}",
        _ => "",
    };
}
