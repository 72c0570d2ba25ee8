using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Nodes;

/// <summary>
/// The node's L2 domain (the seed's cbr0): learns source MACs of pod frames, forwards known unicast to its
/// port, floods broadcast, multicast and unknown unicast to every pod port but the ingress one, and never
/// sends a frame back where it came from. Frames for the gateway MAC, and everything from the uplink and the
/// host port (L3 ports, not part of the pods' L2 domain), are routed instead.
/// </summary>
public sealed class Bridge : Node<Bridge.Next, Bridge.Drop, Bridge.Event>
{
    public enum Next
    {
        Ip4Lookup,
        Ip6Lookup,
        InterfaceOutput,
    }

    public enum Drop
    {
        [Description("destination MAC was learned on the ingress port (no hairpin)")]
        Hairpin,
        [Description("multicast or broadcast from the uplink (the uplink is not part of the pods' L2 domain)")]
        UplinkMulticast,
        [Description("multicast or broadcast from the host port (the node's kernel is not part of the pods' L2 domain)")]
        HostMulticast,
    }

    public enum Event
    {
        [Description("frames flooded because they were broadcast or multicast")]
        Flooded,
        [Description("frames flooded because their destination MAC was unknown")]
        UnknownUnicastFlooded,
        [Description("source MACs not learned because the MAC table was full")]
        MacTableFull,
    }

    private const ushort TraceRouted = 1;
    private const ushort TraceForwarded = 2;
    private const ushort TraceFlooded = 3;

    private readonly MacTable _macTable;
    private readonly LocalAddress[] _local;

    public Bridge(PortTable ports, LocalAddresses local, MacTable macTable)
    {
        _local = local.PerPort(ports);
        _macTable = macTable;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Span<byte> frame = batch.Frame(p);
            MacAddress destination = MacAddress.Read(frame.Slice(EthernetHeader.DestinationOffset));
            ref readonly LocalAddress local = ref _local[meta.RxPort];

            if (local.IsUplink || local.IsHost)
            {
                if ((meta.Flags & PacketFlags.L2Multicast) != 0)
                {
                    Drop<TTrace>(graph, p, local.IsUplink ? Drop.UplinkMulticast : Drop.HostMulticast);
                    continue;
                }

                Route<TTrace>(graph, p, ref meta);
                continue;
            }

            if (!_macTable.Learn(MacAddress.Read(frame.Slice(EthernetHeader.SourceOffset)), meta.RxPort, meta.Timestamp))
            {
                Count(Event.MacTableFull);
            }

            if (destination == local.Mac)
            {
                Route<TTrace>(graph, p, ref meta);
                continue;
            }

            if ((meta.Flags & PacketFlags.L2Multicast) != 0)
            {
                Count(Event.Flooded);
                meta.TxPort = PortIds.Flood;
                Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceFlooded);
                continue;
            }

            if (!_macTable.TryLookup(destination, meta.Timestamp, out ushort port))
            {
                Count(Event.UnknownUnicastFlooded);
                meta.TxPort = PortIds.Flood;
                Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceFlooded);
                continue;
            }

            if (port == meta.RxPort)
            {
                Drop<TTrace>(graph, p, Drop.Hairpin, port);
                continue;
            }

            meta.TxPort = port;
            Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceForwarded, port);
        }
    }

    private void Route<TTrace>(Graph graph, ushort p, ref PacketMeta meta)
        where TTrace : struct, ITraceMode
    {
        Forward<TTrace>(graph, p, (meta.Flags & PacketFlags.Ip4) != 0 ? Next.Ip4Lookup : Next.Ip6Lookup, TraceRouted);
    }

    public override string FormatTrace(in TraceRecord record) => record.Code switch
    {
        TraceRouted => "to the gateway MAC: routed",
        TraceForwarded => $"known unicast to port {record.A}",
        TraceFlooded => "flooded",
        _ => "",
    };
}
