using System.Buffers.Binary;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Nodes;

/// <summary>
/// VXLAN encapsulation (RFC 7348) toward another node's VTEP, as a Linux <c>vxlan</c> device programmed by flannel
/// sends it: the routed inner frame gets our VTEP MAC as source and the peer's VTEP MAC as destination, then outer
/// Ethernet + IPv4 + UDP + VXLAN headers (50 bytes) are prepended in the headroom. The outer destination MAC is the
/// VTEP IP's on the uplink (an ordinary next hop, resolved by ARP); the outer UDP source port is the inner flow's
/// hash in Linux's default range (32768-60999) so the underlay can spread flows; the UDP checksum is 0 (Linux's
/// default for IPv4 VXLAN), the outer TTL 64, DF clear. Packets larger than the tunnel's MTU (uplink MTU - 50) get
/// "fragmentation needed" / "packet too big" with that MTU. The inner TTL / hop limit is decremented here, after
/// that check, as routing does.
/// The uplink's packet socket cannot hand the kernel a UDP-tunnel GSO frame, so a TCP super-frame from a pod's TAP
/// (virtio gso TCPV4/TCPV6) is segmented here, in its own buffer slot, into MSS-sized packets each with its own
/// headers and checksums, and sent as a <see cref="SegmentTrain"/>; a partial checksum is finished in software.
/// </summary>
public sealed class VxlanEncap : Node<VxlanEncap.Next, VxlanEncap.Drop, VxlanEncap.Event>
{
    public enum Next
    {
        IcmpError,
        InterfaceOutput,
    }

    public enum Drop
    {
        [Description("the route is no longer a VXLAN one (routes changed between lookup and encapsulation)")]
        RouteChanged,
        [Description("VTEP's MAC on the uplink not resolved yet (an ARP request is out)")]
        VtepUnresolved,
        [Description("IPv4 packet without DF larger than the VXLAN MTU (uplink MTU - 50); the dataplane does not fragment")]
        FragmentationNeeded,
        [Description("offloaded super-frame of a kind not segmented here (only TCP is)")]
        UnsupportedOffload,
        [Description("super-frame whose segments do not fit its buffer slot (MSS too small for its size)")]
        NoRoomToSegment,
        [Description("partial checksum whose start or field lies outside the frame")]
        BadChecksumOffload,
    }

    public enum Event
    {
        [Description("packets encapsulated (a segmented super-frame counts once)")]
        Encapsulated,
        [Description("TCP super-frames segmented in software")]
        SuperFramesSegmented,
        [Description("segments made from super-frames")]
        Segments,
        [Description("ARP requests sent to resolve VTEPs")]
        ArpRequestsSent,
    }

    /// <summary>Outer Ethernet + IPv4 + UDP + VXLAN.</summary>
    public const int Overhead = VxlanConfig.Overhead;

    /// <summary>
    /// Room a daemon's slot keeps after a 64 KiB super-frame for its segments' extra headers (<see cref="SegmentTrain.Gap"/>
    /// + 50 outer + the inner headers, per segment): enough for an MSS down to 536 with full TCP options.
    /// </summary>
    public const int SegmentationRoom = 24 * 1024;

    /// <summary>Linux's default ephemeral range (net.ipv4.ip_local_port_range), which vxlan devices draw source ports from.</summary>
    public const int SourcePortMin = 32768;
    public const int SourcePortMax = 61000;

    private const byte OuterTtl = 64;

    /// <summary>Ethernet + the largest IPv4 header + the largest TCP header (IPv6 extension headers are refused before).</summary>
    private const int MaxInnerHeaders = EthernetHeader.Size + 60 + 60;

    private const ushort TraceEncap = 1;
    private const ushort TraceSolicit = 2;
    private const ushort TraceIcmp = 3;

    private readonly Fib4 _fib4;
    private readonly Fib6 _fib6;
    private readonly AdjacencyTable _adjacencies;
    private readonly PortTable _ports;
    private readonly ushort _uplink;
    private readonly MacAddress _uplinkMac;
    private readonly Ip4Address _uplinkIp;
    private readonly MacAddress _vtepMac;
    private readonly ushort _port;
    private readonly int _vni;
    private ushort _ipId;

    public VxlanEncap(PortTable ports, LocalAddresses local, Fib fib, AdjacencyTable adjacencies, VxlanConfig? vxlan)
    {
        _fib4 = fib.V4;
        _fib6 = fib.V6;
        _adjacencies = adjacencies;
        _ports = ports;
        _uplink = ports.Uplink?.Id ?? PortIds.None;
        _uplinkMac = local.UplinkMac;
        _uplinkIp = local.UplinkIp;
        _vtepMac = vxlan?.Mac ?? MacAddress.Zero;
        _port = vxlan?.Port ?? VxlanConfig.DefaultPort;
        _vni = vxlan?.Vni ?? VxlanConfig.DefaultVni;
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Span<byte> frame = batch.Frame(p);
            bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
            Span<byte> l3 = frame.Slice(meta.L3Offset);
            int index = v4
                ? _fib4.Lookup(Ip4Address.Read(l3.Slice(Ipv4Header.DestinationOffset)))
                : _fib6.Lookup(Ip6Address.Read(l3.Slice(Ipv6Header.DestinationOffset)));
            if (index < 0 || _adjacencies[index].Kind != AdjacencyKind.Vxlan || _uplink == PortIds.None)
            {
                Drop<TTrace>(graph, p, Drop.RouteChanged);
                continue;
            }

            ref Adjacency adjacency = ref _adjacencies[index];

            // A super-frame is judged by the size of its segments; anything else by its own.
            int mss = 0;
            if ((meta.Flags & PacketFlags.Offloaded) != 0)
            {
                ReadOnlySpan<byte> header = OffloadHeader.Of(batch, p);
                byte gso = OffloadHeader.GsoType(header);
                if (gso != OffloadHeader.GsoNone)
                {
                    if (gso is not (OffloadHeader.GsoTcpV4 or OffloadHeader.GsoTcpV6) || meta.L4Protocol != IpProtocol.Tcp || meta.L4Offset == 0)
                    {
                        Drop<TTrace>(graph, p, Drop.UnsupportedOffload, gso);
                        continue;
                    }

                    mss = OffloadHeader.GsoSize(header);
                }
            }

            int tunnelMtu = _ports.Mtu[_uplink] - Overhead;
            int l3Length = mss == 0 ? meta.Length - meta.L3Offset : meta.L4Offset - meta.L3Offset + TcpHeaderLength(frame, meta.L4Offset) + mss;
            if (l3Length > tunnelMtu)
            {
                TooBig<TTrace>(graph, p, ref meta, l3, v4, tunnelMtu, l3Length);
                continue;
            }

            ref Adjacency underlay = ref _adjacencies[adjacency.Underlay];
            ulong outerMac = Volatile.Read(ref underlay.Mac);
            if (outerMac == 0)
            {
                Solicit<TTrace>(graph, p, ref meta, ref underlay);
                continue;
            }

            if (v4)
            {
                Ipv4Header.TryParse(l3, out Ipv4Header ip);
                ip.DecrementTtl();
            }
            else
            {
                l3[Ipv6HopLimitOffset]--;
            }

            EthernetHeader.Write(frame, new MacAddress(adjacency.VtepMac), _vtepMac, v4 ? EtherType.Ipv4 : EtherType.Ipv6);
            ushort sourcePort = SourcePort(frame, in meta, v4);
            Span<byte> slot = batch.Slot(p);
            if (mss != 0 && meta.Length - meta.L4Offset - TcpHeaderLength(frame, meta.L4Offset) > mss)
            {
                int segments = Segment(slot, ref meta, v4, mss, outerMac, sourcePort, adjacency.NextHop.V4);
                if (segments == 0)
                {
                    Drop<TTrace>(graph, p, Drop.NoRoomToSegment, meta.Length, mss);
                    continue;
                }

                Count(Event.SuperFramesSegmented);
                Counters.Events[(int)Event.Segments] += segments;
            }
            else
            {
                if ((meta.Flags & PacketFlags.ChecksumPartial) != 0 && !OffloadHeader.TryCompleteChecksum(OffloadHeader.Of(batch, p), frame))
                {
                    Drop<TTrace>(graph, p, Drop.BadChecksumOffload);
                    continue;
                }

                WriteOuter(slot.Slice(meta.Offset - Overhead), meta.Length, outerMac, sourcePort, adjacency.NextHop.V4, _ipId++);
                meta.Offset -= Overhead;
                meta.Length += Overhead;
            }

            meta.L3Offset = EthernetHeader.Size;
            meta.L4Offset = EthernetHeader.Size + Ipv4Header.MinSize;
            meta.L4Protocol = IpProtocol.Udp;
            meta.Flags = (meta.Flags & (PacketFlags.Traced | PacketFlags.Train)) | PacketFlags.Ip4;
            meta.TxPort = _uplink;
            Count(Event.Encapsulated);
            Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceEncap, adjacency.NextHop.V4.Value, sourcePort);
        }
    }

    private const int Ipv6HopLimitOffset = 7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int TcpHeaderLength(ReadOnlySpan<byte> frame, int l4Offset) => (frame[l4Offset + 12] >> 4) * 4;

    /// <summary>Fragmentation needed (IPv4 with DF; without DF a drop: we do not fragment) or packet too big, with the tunnel's MTU.</summary>
    private void TooBig<TTrace>(Graph graph, ushort p, ref PacketMeta meta, Span<byte> l3, bool v4, int tunnelMtu, int length)
        where TTrace : struct, ITraceMode
    {
        if (v4)
        {
            Ipv4Header.TryParse(l3, out Ipv4Header ip);
            if (!ip.DontFragment)
            {
                Drop<TTrace>(graph, p, Drop.FragmentationNeeded, length, tunnelMtu);
                return;
            }

            meta.IcmpType = Icmp4Type.DestinationUnreachable;
            meta.IcmpCode = Icmp4Type.CodeFragmentationNeeded;
        }
        else
        {
            meta.IcmpType = Icmp6Type.PacketTooBig;
            meta.IcmpCode = 0;
        }

        meta.IcmpMtu = (ushort)tunnelMtu;
        Forward<TTrace>(graph, p, Next.IcmpError, TraceIcmp, length, tunnelMtu);
    }

    /// <summary>Reuses the packet's buffer for an ARP request for the VTEP, or drops it if one went out recently.</summary>
    private void Solicit<TTrace>(Graph graph, ushort p, ref PacketMeta meta, ref Adjacency underlay)
        where TTrace : struct, ITraceMode
    {
        CountDrop(Drop.VtepUnresolved);
        if (underlay.SolicitedRecently(meta.Timestamp))
        {
            graph.Trace<TTrace>(this, p, TraceSolicit, underlay.NextHop.V4.Value, 0);
            return;
        }

        underlay.LastSolicit = meta.Timestamp;
        Span<byte> frame = graph.Batch.Slot(p).Slice(meta.Offset);
        meta.Length = NeighborSolicitations.WriteArpRequest(frame, _uplinkMac, _uplinkIp, underlay.NextHop.V4);
        meta.L3Offset = EthernetHeader.Size;
        meta.Flags = (meta.Flags & PacketFlags.Traced) | PacketFlags.Arp;
        meta.TxPort = _uplink;
        Count(Event.ArpRequestsSent);
        Forward<TTrace>(graph, p, Next.InterfaceOutput, TraceSolicit, underlay.NextHop.V4.Value, 1);
    }

    /// <summary>
    /// The outer source port, as Linux's udp_flow_src_port: a hash of the inner flow (addresses, protocol, ports)
    /// scaled into the ephemeral range, so one flow keeps one port and flows spread over the underlay's ECMP.
    /// </summary>
    private static ushort SourcePort(ReadOnlySpan<byte> frame, in PacketMeta meta, bool v4)
    {
        ReadOnlySpan<byte> l3 = frame.Slice(meta.L3Offset);
        ulong addresses = v4
            ? BinaryPrimitives.ReadUInt64BigEndian(l3.Slice(Ipv4Header.SourceOffset))
            : BinaryPrimitives.ReadUInt64BigEndian(l3.Slice(Ipv6Header.SourceOffset)) ^ BinaryPrimitives.ReadUInt64BigEndian(l3.Slice(Ipv6Header.SourceOffset + 8))
                ^ BinaryPrimitives.ReadUInt64BigEndian(l3.Slice(Ipv6Header.DestinationOffset)) ^ BinaryPrimitives.ReadUInt64BigEndian(l3.Slice(Ipv6Header.DestinationOffset + 8));
        ulong ports = meta.L4Offset != 0 && meta.L4Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp
            ? BinaryPrimitives.ReadUInt32BigEndian(frame.Slice(meta.L4Offset))
            : 0;
        uint hash = (uint)StableHash.Hash(addresses, (ports << 8) | meta.L4Protocol, 0x7E57_ED0F);
        hash ^= hash << 16;
        return (ushort)((((ulong)hash * (SourcePortMax - SourcePortMin)) >> 32) + SourcePortMin);
    }

    /// <summary>Outer Ethernet, IPv4 (TTL 64, DF clear, ID <paramref name="id"/>), UDP (checksum 0) and VXLAN headers in front of an inner frame of <paramref name="innerLength"/>.</summary>
    private void WriteOuter(Span<byte> outer, int innerLength, ulong destinationMac, ushort sourcePort, Ip4Address vtep, ushort id)
    {
        EthernetHeader.Write(outer, new MacAddress(destinationMac), _uplinkMac, EtherType.Ipv4);
        Span<byte> ip = outer.Slice(EthernetHeader.Size);
        Ipv4Header.Write(ip, Ipv4Header.MinSize + UdpHeader.Size + VxlanHeader.Size + innerLength, IpProtocol.Udp, OuterTtl, _uplinkIp, vtep, id);
        Span<byte> udp = ip.Slice(Ipv4Header.MinSize);
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(UdpHeader.DestinationPortOffset), _port);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(4), (ushort)(UdpHeader.Size + VxlanHeader.Size + innerLength));
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(UdpHeader.ChecksumOffset), 0);
        VxlanHeader.Write(udp.Slice(UdpHeader.Size), _vni);
    }

    /// <summary>
    /// Cuts a TCP super-frame into segments of <paramref name="mss"/> payload bytes, each a whole VXLAN packet, laid out
    /// in the slot as a <see cref="SegmentTrain"/>. Works from the last segment back: each one's payload only moves
    /// forward (segment k's payload lands (k * 66 + hdr) bytes later) and never over a chunk not yet moved, so one pass
    /// with no scratch buffer beyond the headers does it. Inner headers per segment as Linux's tcp_gso_segment makes
    /// them: IPv4 ID + k, sequence + k * mss, FIN and PSH on the last segment only, CWR on the first only, checksums
    /// computed whole. Returns the number of segments, or 0 when they would not fit the slot.
    /// </summary>
    private int Segment(Span<byte> slot, ref PacketMeta meta, bool v4, int mss, ulong outerMac, ushort sourcePort, Ip4Address vtep)
    {
        int frameStart = meta.Offset;
        int l3 = meta.L3Offset;
        int l4 = meta.L4Offset;
        int headers = l4 + TcpHeaderLength(slot.Slice(frameStart), l4);
        int payload = meta.Length - headers;
        int segments = (payload + mss - 1) / mss;
        int extra = SegmentTrain.Gap + Overhead + headers;
        int firstOuter = frameStart - Overhead;
        if (headers > MaxInnerHeaders || firstOuter < SegmentTrain.Gap || segments > ushort.MaxValue
            || frameStart + meta.Length + ((long)(segments - 1) * extra) > slot.Length)
        {
            return 0;
        }

        Span<byte> template = stackalloc byte[MaxInnerHeaders];
        slot.Slice(frameStart, headers).CopyTo(template);
        ReadOnlySpan<byte> ipTemplate = template.Slice(l3);
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(template.Slice(l4 + 4));
        ushort id = v4 ? BinaryPrimitives.ReadUInt16BigEndian(ipTemplate.Slice(4)) : (ushort)0;
        byte flags = template[l4 + 13];
        int stride = extra + mss;
        ushort firstId = _ipId;
        _ipId += (ushort)segments;
        for (int k = segments - 1; k >= 0; k--)
        {
            int length = k == segments - 1 ? payload - (k * mss) : mss;
            int outer = firstOuter + (k * stride);
            int inner = outer + Overhead;
            if (k > 0)
            {
                slot.Slice(frameStart + headers + (k * mss), length).CopyTo(slot.Slice(inner + headers));
            }

            Span<byte> segment = slot.Slice(inner, headers + length);
            template.Slice(0, headers).CopyTo(segment);
            Span<byte> ip = segment.Slice(l3);
            Span<byte> tcp = segment.Slice(l4);
            int tcpLength = tcp.Length;
            ulong pseudo;
            if (v4)
            {
                BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(2), (ushort)ip.Length);
                BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(4), (ushort)(id + k));
                Ipv4Header.TryParse(ip, out Ipv4Header header);
                header.UpdateChecksum();
                pseudo = InternetChecksum.PseudoHeaderSum(header.Source, header.Destination, IpProtocol.Tcp, tcpLength);
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(4), (ushort)(ip.Length - Ipv6Header.Size));
                pseudo = InternetChecksum.PseudoHeaderSum(
                    Ip6Address.Read(ip.Slice(Ipv6Header.SourceOffset)), Ip6Address.Read(ip.Slice(Ipv6Header.DestinationOffset)), IpProtocol.Tcp, tcpLength);
            }

            BinaryPrimitives.WriteUInt32BigEndian(tcp.Slice(4), sequence + (uint)(k * mss));
            byte segmentFlags = flags;
            if (k != segments - 1)
            {
                segmentFlags &= unchecked((byte)~(TcpFlags.Fin | TcpFlags.Psh));
            }

            if (k != 0)
            {
                segmentFlags &= unchecked((byte)~TcpFlags.Cwr);
            }

            tcp[13] = segmentFlags;
            BinaryPrimitives.WriteUInt16BigEndian(tcp.Slice(TcpHeader.ChecksumOffset), 0);
            BinaryPrimitives.WriteUInt16BigEndian(tcp.Slice(TcpHeader.ChecksumOffset), InternetChecksum.Finish(InternetChecksum.Sum(tcp, pseudo)));
            WriteOuter(slot.Slice(outer), headers + length, outerMac, sourcePort, vtep, (ushort)(firstId + k));
            SegmentTrain.Mark(slot, outer, Overhead + headers + length, segments - 1 - k);
        }

        meta.Offset = firstOuter;
        meta.Length = Overhead + headers + Math.Min(mss, payload);
        meta.Flags |= PacketFlags.Train;
        return segments;
    }

    public override string FormatTrace(in TraceRecord record) => record.Code switch
    {
        TraceEncap => $"vxlan vni {_vni} to vtep {new Ip4Address((uint)record.A)} udp {record.B} > {_port}",
        TraceSolicit => record.B == 1
            ? $"vtep {new Ip4Address((uint)record.A)} unresolved: packet becomes an ARP request"
            : $"vtep {new Ip4Address((uint)record.A)} unresolved: ARP request already out, packet dropped",
        TraceIcmp => $"{record.A} bytes over the vxlan mtu {record.B}: icmp error",
        _ => "",
    };
}
