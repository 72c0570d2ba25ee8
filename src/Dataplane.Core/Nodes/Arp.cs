using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Nodes;

/// <summary>
/// ARP for the dataplane's own addresses: answers requests for the gateway IP (pod ports), the uplink IP
/// (uplink), the host port's link-local next hop (proxy ARP for the node's kernel) and, with
/// node.announceExternalIps, the services' external and load-balancer IPs on the uplink; learns next hops and the
/// uplink subnet's hosts (the neighbour table: the asker of a request for us, the sender of a reply to us, updates
/// from any other ARP) from the ARP it sees on the uplink, and learns gratuitous ARP from pods.
/// Pod-to-pod ARP is not answered here: it is bridged, as a Linux bridge would. Nothing from the host port is.
/// </summary>
public sealed class Arp : Node<Arp.Next, Arp.Drop, Arp.Event>
{
    public enum Next
    {
        Bridge,
        InterfaceOutput,
    }

    public enum Drop
    {
        [Description("ARP on the uplink or the host port that is not a request for our address")]
        NotForUs,
        [Description("ARP reply consumed after learning the sender (a next hop answering us)")]
        ReplyConsumed,
        [Description("ARP sent to the gateway MAC that is not a request for the gateway IP")]
        UnexpectedToGateway,
    }

    public enum Event
    {
        [Description("ARP replies sent for our addresses")]
        RepliesSent,
        [Description("next hops resolved or updated from ARP")]
        NextHopsLearned,
        [Description("gratuitous ARP seen from pods")]
        GratuitousFromPods,
        [Description("uplink neighbours added or changed from ARP (hosts on the uplink's subnet)")]
        NeighborsLearned,
    }

    private const ushort TraceReply = 1;
    private const ushort TraceLearned = 2;
    private const ushort TraceNeighbor = 3;

    private readonly LocalAddress[] _local;
    private readonly AdjacencyTable _adjacencies;
    private readonly MacTable _macTable;
    private readonly AnnouncedAddresses _announced;

    public Arp(PortTable ports, LocalAddresses local, AdjacencyTable adjacencies, MacTable macTable, AnnouncedAddresses? announced = null)
    {
        _announced = announced ?? new AnnouncedAddresses(enabled: false);
        _local = local.PerPort(ports);
        _adjacencies = adjacencies;
        _macTable = macTable;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Span<byte> frame = batch.Frame(p);
            ArpPacket.TryParse(frame.Slice(meta.L3Offset), out ArpPacket arp);
            ref readonly LocalAddress local = ref _local[meta.RxPort];
            bool forUs = arp.TargetIp == local.Ip4 || (local.IsUplink && _announced.Enabled && _announced.Contains(arp.TargetIp));

            if (local.IsUplink)
            {
                if (_adjacencies.TryResolve(arp.SenderIp, arp.SenderMac))
                {
                    Count(Event.NextHopsLearned);
                    graph.Trace<TTrace>(this, p, TraceLearned, arp.SenderIp.Value, (long)arp.SenderMac.Value);
                }

                if (_adjacencies.Neighbors.Learn(arp.SenderIp, arp.SenderMac, meta.Timestamp, create: forUs) is NeighborLearn.Added or NeighborLearn.Changed)
                {
                    Count(Event.NeighborsLearned);
                    graph.Trace<TTrace>(this, p, TraceNeighbor, arp.SenderIp.Value, (long)arp.SenderMac.Value);
                }
            }
            else if (!local.IsHost)
            {
                _macTable.Learn(arp.SenderMac, meta.RxPort, meta.Timestamp);
            }

            if (forUs && arp.Operation == ArpPacket.OperationRequest)
            {
                Reply(frame, ref meta, ref arp, in local);
                Count(Event.RepliesSent);
                Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceReply, arp.TargetIp.Value, (long)arp.TargetMac.Value);
                continue;
            }

            if (local.IsUplink || local.IsHost)
            {
                Drop<TTrace>(graph, p, forUs ? Drop.ReplyConsumed : Drop.NotForUs);
                continue;
            }

            if (MacAddress.Read(frame.Slice(EthernetHeader.DestinationOffset)) == local.Mac)
            {
                Drop<TTrace>(graph, p, Drop.UnexpectedToGateway);
                continue;
            }

            if (arp.IsGratuitous)
            {
                Count(Event.GratuitousFromPods);
            }

            Forward<TTrace>(graph, p, Next.Bridge);
        }
    }

    /// <summary>Turns the request into the reply in place (RFC 826 "swap fields, put in local addresses").</summary>
    private static void Reply(Span<byte> frame, ref PacketMeta meta, ref ArpPacket arp, in LocalAddress local)
    {
        MacAddress requesterMac = arp.SenderMac;
        Ip4Address requesterIp = arp.SenderIp;
        Ip4Address answered = arp.TargetIp;
        arp.Operation = ArpPacket.OperationReply;
        arp.TargetMac = requesterMac;
        arp.TargetIp = requesterIp;
        arp.SenderMac = local.Mac;
        arp.SenderIp = answered;
        EthernetHeader.SwapAddresses(frame, local.Mac);
        meta.TxPort = meta.RxPort;
    }

    public override string FormatTrace(in TraceRecord record) => record.Code switch
    {
        TraceReply when record.Next != TraceRecord.Dropped => $"reply {new Ip4Address((uint)record.A)} is-at {new MacAddress((ulong)record.B)}",
        TraceLearned => $"learned next hop {new Ip4Address((uint)record.A)} at {new MacAddress((ulong)record.B)}",
        TraceNeighbor => $"learned neighbour {new Ip4Address((uint)record.A)} at {new MacAddress((ulong)record.B)}",
        _ => "",
    };
}
