using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Nodes;

/// <summary>
/// Resolves configured next hops ahead of need: once a second it asks on the uplink for the MAC of every next hop
/// not yet resolved (an ARP request, or a Neighbor Solicitation to the solicited-node group, RFC 4861 §7.2.2), so
/// the first packet to another node finds it known instead of being spent on a request (Linux would queue that
/// packet; we have no queue per neighbor, so we resolve ahead). The frames are made here, in the graph
/// (<see cref="IOriginatingNode"/>), so they are counted, traced and captured like every other frame. The lookup
/// stages still turn a packet into a request when they meet an unresolved next hop between two rounds.
/// </summary>
public sealed class NeighborProbe : Node<NeighborProbe.Next, None, NeighborProbe.Event>, IOriginatingNode
{
    public enum Next
    {
        InterfaceOutput,
    }

    public enum Event
    {
        [Description("ARP requests sent for unresolved next hops")]
        ArpRequestsSent,
        [Description("neighbor solicitations sent for unresolved next hops")]
        SolicitationsSent,
    }

    /// <summary>How often unresolved next hops are asked for (Linux's retrans_time).</summary>
    public const long IntervalNanoseconds = 1_000_000_000;

    private const ushort TraceArp = 1;
    private const ushort TraceSolicitation = 2;

    private readonly AdjacencyTable _adjacencies;
    private readonly ushort _uplink;
    private readonly LocalAddress _local;
    private long _nextRound = long.MinValue;

    /// <summary>Adjacency to resume a round at when the batch ran out of room; -1 between rounds.</summary>
    private int _cursor = -1;

    public NeighborProbe(PortTable ports, LocalAddresses local, AdjacencyTable adjacencies)
    {
        _adjacencies = adjacencies;
        _uplink = PortIds.None;
        if (ports.Uplink is { } uplink)
        {
            _uplink = uplink.Id;
            _local = local.PerPort(ports)[uplink.Id];
        }
    }

    /// <summary>Adds this round's requests to the batch when one is due; a round the batch cannot hold resumes at the next poll.</summary>
    public void Poll(Graph graph, long now)
    {
        if (_uplink == PortIds.None)
        {
            return;
        }

        if (_cursor < 0)
        {
            if (now < _nextRound)
            {
                return;
            }

            _nextRound = now + IntervalNanoseconds;
            _cursor = 0;
        }

        ReadOnlySpan<Adjacency> entries = _adjacencies.Entries;
        for (; _cursor < entries.Length; _cursor++)
        {
            ref readonly Adjacency adjacency = ref entries[_cursor];
            if (adjacency.Kind != AdjacencyKind.NextHop || Volatile.Read(in adjacency.Mac) != 0 || !(adjacency.NextHop.IsV4 || _local.HasIp6))
            {
                continue;
            }

            if (!graph.TryOriginate(this, now, out ushort p))
            {
                return;
            }

            ref PacketMeta meta = ref graph.Batch.Meta(p);
            Span<byte> frame = graph.Batch.Slot(p).Slice(meta.Offset);
            if (adjacency.NextHop.IsV4)
            {
                meta.Length = NeighborSolicitations.WriteArpRequest(frame, _local.Mac, _local.Ip4, adjacency.NextHop.V4);
                meta.L3Offset = EthernetHeader.Size;
                meta.Flags |= PacketFlags.Arp;
            }
            else
            {
                meta.Length = NeighborSolicitations.WriteNeighborSolicitation(frame, _local.Mac, _local.Ip6, adjacency.NextHop.V6);
                meta.L3Offset = EthernetHeader.Size;
                meta.L4Offset = EthernetHeader.Size + Ipv6Header.Size;
                meta.L4Protocol = IpProtocol.Icmpv6;
                meta.Flags |= PacketFlags.Ip6 | PacketFlags.NeighborDiscovery | PacketFlags.L2Multicast;
            }

            meta.TxPort = _uplink;
        }

        _cursor = -1;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Span<byte> l3 = batch.Frame(p).Slice(meta.L3Offset);
            if ((meta.Flags & PacketFlags.Arp) != 0)
            {
                ArpPacket.TryParse(l3, out ArpPacket arp);
                Count(Event.ArpRequestsSent);
                Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceArp, arp.TargetIp.Value);
                continue;
            }

            Ip6Address target = Ip6Address.Read(l3.Slice(Ipv6Header.Size + NeighborSolicitations.TargetOffset));
            Count(Event.SolicitationsSent);
            Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceSolicitation, (long)target.Hi, (long)target.Lo);
        }
    }

    public override string FormatTrace(in TraceRecord record) => record.Code switch
    {
        TraceArp => $"who-has {new Ip4Address((uint)record.A)} (unresolved next hop)",
        TraceSolicitation => $"solicit {new Ip6Address((ulong)record.A, (ulong)record.B)} (unresolved next hop)",
        _ => "",
    };
}
