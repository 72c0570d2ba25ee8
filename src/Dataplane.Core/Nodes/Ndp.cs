using System.Buffers.Binary;
using System.ComponentModel;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Nodes;

/// <summary>
/// IPv6 Neighbor Discovery (RFC 4861) for the dataplane's own addresses: answers Neighbor Solicitations for
/// the gateway's IPv6 (pod ports), the uplink's IPv6 and the host port's link-local next hop (the node kernel's
/// router), learns next hops and the uplink subnet's hosts on the uplink (as <see cref="Arp"/> does: a solicitation
/// for us creates the soliciter's entry, an advertisement to us the target's, others only update), and bridges
/// pod-to-pod ND like ARP. Router Advertisements from pods and the host are dropped: neither may become its
/// neighbours' router. Nothing from the host port is bridged.
/// </summary>
public sealed class Ndp : Node<Ndp.Next, Ndp.Drop, Ndp.Event>
{
    public enum Next
    {
        Bridge,
        InterfaceOutput,
    }

    public enum Drop
    {
        [Description("ND message with hop limit other than 255 (RFC 4861 §7.1.1: it crossed a router)")]
        BadHopLimit,
        [Description("ND message with a bad ICMPv6 checksum or code")]
        Invalid,
        [Description("ND on the uplink or the host port not for our address")]
        NotForUs,
        [Description("Neighbor Advertisement consumed after learning the next hop")]
        AdvertisementConsumed,
        [Description("Router Solicitation (the dataplane does not send RAs; pods use a static default route)")]
        RouterSolicitationIgnored,
        [Description("Router Advertisement or Redirect sent by a pod")]
        RogueRouterMessage,
    }

    public enum Event
    {
        [Description("Neighbor Advertisements sent for our addresses")]
        AdvertisementsSent,
        [Description("next hops resolved or updated from ND")]
        NextHopsLearned,
        [Description("uplink neighbours added or changed from ND (hosts on the uplink's subnet)")]
        NeighborsLearned,
    }

    // RFC 4861 §4.3-4.4: the target address follows the ICMPv6 header; options follow the target.
    private const int TargetOffset = IcmpHeader.Size;
    private const int NsMinLength = TargetOffset + Ip6Address.Size;
    private const int NaLength = NsMinLength + LinkLayerOptionLength;

    // RFC 4861 §4.6: type, length in units of 8 octets, then (for §4.6.1 link-layer options) the address.
    private const int OptionTypeOffset = 0;
    private const int OptionLengthOffset = 1;
    private const int OptionUnit = 8;
    private const int LinkLayerAddressOffset = 2;
    private const int LinkLayerOptionLength = OptionUnit;
    private const byte OptionSourceLinkLayer = 1;
    private const byte OptionTargetLinkLayer = 2;
    private const uint FlagRouter = 0x8000_0000;
    private const uint FlagSolicited = 0x4000_0000;
    private const uint FlagOverride = 0x2000_0000;
    private const ushort TraceAdvertised = 1;

    private static readonly Ip6Address AllNodes = new(0xFF02_0000_0000_0000, 1);

    private readonly LocalAddress[] _local;
    private readonly AdjacencyTable _adjacencies;
    private readonly AnnouncedAddresses _announced;

    public Ndp(PortTable ports, LocalAddresses local, AdjacencyTable adjacencies, AnnouncedAddresses? announced = null)
    {
        _announced = announced ?? new AnnouncedAddresses(enabled: false);
        _local = local.PerPort(ports);
        _adjacencies = adjacencies;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Span<byte> frame = batch.Frame(p);
            Ipv6Header.TryParse(frame.Slice(meta.L3Offset), out Ipv6Header ip);
            Span<byte> icmp = frame.Slice(meta.L4Offset);
            byte type = icmp[IcmpHeader.TypeOffset];
            ref readonly LocalAddress local = ref _local[meta.RxPort];

            if (ip.HopLimit != 255)
            {
                Drop<TTrace>(graph, p, Drop.BadHopLimit, ip.HopLimit);
                continue;
            }

            if (icmp[IcmpHeader.CodeOffset] != 0 || !InternetChecksum.IsValid(icmp, InternetChecksum.PseudoHeaderSum(ip.Source, ip.Destination, IpProtocol.Icmpv6, icmp.Length))
                || (type is Icmp6Type.NeighborSolicitation or Icmp6Type.NeighborAdvertisement && icmp.Length < NsMinLength))
            {
                Drop<TTrace>(graph, p, Drop.Invalid, type);
                continue;
            }

            switch (type)
            {
                case Icmp6Type.RouterSolicitation:
                    Drop<TTrace>(graph, p, Drop.RouterSolicitationIgnored);
                    continue;
                case Icmp6Type.RouterAdvertisement or Icmp6Type.Redirect when !local.IsUplink:
                    Drop<TTrace>(graph, p, Drop.RogueRouterMessage, type);
                    continue;
            }

            Ip6Address target = type is Icmp6Type.NeighborSolicitation or Icmp6Type.NeighborAdvertisement
                ? Ip6Address.Read(icmp.Slice(TargetOffset))
                : default;

            if (local.IsUplink)
            {
                MacAddress? linkLayer = FindLinkLayerOption(icmp, type == Icmp6Type.NeighborAdvertisement ? OptionTargetLinkLayer : OptionSourceLinkLayer);
                IpAddress learned = type == Icmp6Type.NeighborAdvertisement ? target : ip.Source;
                if (linkLayer is { } mac)
                {
                    if (_adjacencies.TryResolve(learned, mac))
                    {
                        Count(Event.NextHopsLearned);
                    }

                    bool toUs = local.HasIp6 && (type == Icmp6Type.NeighborSolicitation ? target == local.Ip6 : ip.Destination == local.Ip6);
                    if (_adjacencies.Neighbors.Learn(learned, mac, meta.Timestamp, create: toUs) is NeighborLearn.Added or NeighborLearn.Changed)
                    {
                        Count(Event.NeighborsLearned);
                    }
                }
            }

            if (type == Icmp6Type.NeighborSolicitation
                && ((local.HasIp6 && target == local.Ip6) || (local.IsUplink && _announced.Enabled && _announced.Contains(target))))
            {
                Advertise(batch.Slot(p).Slice(meta.Offset), ref meta, in local, target, ip.Source);
                Count(Event.AdvertisementsSent);
                Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceAdvertised, (long)target.Hi, (long)target.Lo);
                continue;
            }

            if (local.IsUplink || local.IsHost)
            {
                Drop<TTrace>(graph, p, type == Icmp6Type.NeighborAdvertisement ? Drop.AdvertisementConsumed : Drop.NotForUs);
                continue;
            }

            Forward<TTrace>(graph, p, Next.Bridge, type);
        }
    }

    /// <summary>
    /// Rewrites the solicitation into a solicited advertisement (RFC 4861 §7.2.4) in place: from our address
    /// and MAC to the soliciter, with the Router flag (we are the pods' router) and our link-layer address.
    /// A solicitation from :: (duplicate address detection) is answered to all-nodes, unsolicited.
    /// <paramref name="frame"/> runs to the end of the slot: the advertisement may be longer than the solicitation.
    /// </summary>
    private static void Advertise(Span<byte> frame, ref PacketMeta meta, in LocalAddress local, Ip6Address target, Ip6Address soliciter)
    {
        bool dad = soliciter.IsZero;
        Ip6Address destination = dad ? AllNodes : soliciter;
        MacAddress destinationMac = dad ? new MacAddress(0x3333_0000_0001) : MacAddress.Read(frame.Slice(EthernetHeader.SourceOffset));
        EthernetHeader.Write(frame, destinationMac, local.Mac, EtherType.Ipv6);

        Span<byte> ip = frame.Slice(meta.L3Offset);
        Ipv6Header.Write(ip, NaLength, IpProtocol.Icmpv6, 255, target, destination);
        Span<byte> icmp = ip.Slice(Ipv6Header.Size, NaLength);
        uint flags = FlagRouter | FlagOverride | (dad ? 0 : FlagSolicited);
        IcmpHeader.Write(icmp, Icmp6Type.NeighborAdvertisement, 0, flags);
        target.Write(icmp.Slice(TargetOffset));
        Span<byte> option = icmp.Slice(NsMinLength, LinkLayerOptionLength);
        option[OptionTypeOffset] = OptionTargetLinkLayer;
        option[OptionLengthOffset] = LinkLayerOptionLength / OptionUnit;
        local.Mac.Write(option.Slice(LinkLayerAddressOffset));
        ulong pseudo = InternetChecksum.PseudoHeaderSum(target, destination, IpProtocol.Icmpv6, NaLength);
        BinaryPrimitives.WriteUInt16BigEndian(icmp.Slice(IcmpHeader.ChecksumOffset), InternetChecksum.Finish(InternetChecksum.Sum(icmp, pseudo)));

        meta.Length = meta.L3Offset + Ipv6Header.Size + NaLength;
        meta.TxPort = meta.RxPort;
    }

    /// <summary>Finds a source/target link-layer address option (RFC 4861 §4.6.1) after the 24-byte NS/NA body.</summary>
    private static MacAddress? FindLinkLayerOption(Span<byte> icmp, byte optionType)
    {
        int offset = NsMinLength;
        while (offset + OptionUnit <= icmp.Length)
        {
            int length = icmp[offset + OptionLengthOffset] * OptionUnit;
            if (length == 0)
            {
                return null;
            }

            if (icmp[offset + OptionTypeOffset] == optionType && length >= LinkLayerOptionLength)
            {
                return MacAddress.Read(icmp.Slice(offset + LinkLayerAddressOffset));
            }

            offset += length;
        }

        return null;
    }

    public override string FormatTrace(in TraceRecord record) => record.Code == TraceAdvertised && record.Next != TraceRecord.Dropped
        ? $"advertised {new Ip6Address((ulong)record.A, (ulong)record.B)}"
        : "";
}
