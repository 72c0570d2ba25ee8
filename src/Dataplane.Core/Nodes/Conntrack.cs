using System.Buffers.Binary;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using Dataplane.Config;
using Dataplane.Conntrack;
using Dataplane.Packets;
using Dataplane.Pipeline;
using Dataplane.Tables;

namespace Dataplane.Nodes;

/// <summary>
/// Connection tracking and service NAT (what nf_conntrack, kube-proxy's DNAT rules and nf_nat do in the
/// kernel). Every IP packet passes here, bridged or routed, like br_netfilter: so a reply a same-node backend
/// sends straight to the client's MAC is still un-NATed to the VIP.
/// <list type="bullet">
/// <item>A packet of a known flow updates its state (nf_conntrack's TCP state table) and deadline, and gets
/// the flow's translation: DNAT to the backend one way, back to the VIP the other.</item>
/// <item>The first packet of a flow to a service VIP:port picks a backend (Maglev, affinity...), and its
/// entry is inserted with find-or-insert, so two packets of one new UDP flow end on one entry. A TCP packet
/// other than a SYN for a VIP with no entry is dropped: it must never reach a random new backend.</item>
/// <item>Hairpin: a client that is its own backend is source-NATed to the gateway so the reply comes back here.</item>
/// <item>ICMP errors quoting a tracked flow are translated, quoted header included (path-MTU through a VIP).</item>
/// </list>
/// </summary>
public sealed class Conntrack : Node
{
    public enum Next
    {
        Bridge,
        IcmpError,
    }

    public enum Drop
    {
        [Description("TCP packet that does not fit the connection's state, or an invalid flag combination")]
        Invalid,
        [Description("TCP packet other than SYN for a service VIP with no conntrack entry (never sent to a new backend)")]
        MidstreamToService,
        [Description("fragment to a service VIP; the dataplane does not reassemble")]
        FragmentToService,
        [Description("conntrack table full: new flow refused")]
        TableFull,
        [Description("reply tuple taken by another flow and no free source port")]
        TupleClash,
        [Description("hairpin to an IPv6 service without node.gatewayIpV6 to source-NAT to")]
        HairpinWithoutGateway,
    }

    public enum Event
    {
        [Description("new flows tracked")]
        NewFlows,
        [Description("new flows balanced to a service backend")]
        ServiceFlows,
        [Description("hairpinned service flows (client is its own backend)")]
        Hairpins,
        [Description("service packets answered with port unreachable: no endpoint takes new flows")]
        NoEndpoints,
        [Description("new-flow packets that found the entry another packet of the flow had just inserted")]
        InsertRaceJoined,
        [Description("TCP connections reopened by a SYN after TIME_WAIT/CLOSE")]
        Reopened,
        [Description("ICMP errors translated for the flow they quote")]
        IcmpErrorsTranslated,
        [Description("packets not tracked (protocols without ports, ICMP other than echo, later fragments)")]
        Untracked,
    }

    private const ushort TraceHit = 1;
    private const ushort TraceNew = 2;
    private const ushort TraceIcmpError = 3;
    private const int SweepBucketsPerBatch = 4;

    private readonly ConntrackTable _table;
    private readonly ConntrackSweeper _sweeper;
    private readonly ServiceTable _services;
    private readonly ConntrackTimeoutTable _timeouts;
    private readonly IpAddress _gateway4;
    private readonly IpAddress? _gateway6;
    private readonly Ip6Address[] _localAddresses;

    /// <param name="sweeper">This worker's stripe of the table to expire; by default the whole table (one worker).</param>
    public Conntrack(ConntrackTable table, ServiceTable services, ConntrackTimeoutTable timeouts, LocalAddresses local, ConntrackSweeper? sweeper = null)
        : base("conntrack", ["bridge", "icmp-error"], NamedCounter.Of<Drop>(), NamedCounter.Of<Event>())
    {
        _table = table;
        _sweeper = sweeper ?? new ConntrackSweeper(table);
        _services = services;
        _timeouts = timeouts;
        _gateway4 = local.GatewayIp;
        _gateway6 = local.GatewayIp6 is { } g6 ? g6 : null;
        var addresses = new List<Ip6Address> { new IpAddress(local.GatewayIp).Bits, new IpAddress(local.UplinkIp).Bits };
        if (local.GatewayIp6 is { } gateway6)
        {
            addresses.Add(gateway6);
        }

        if (local.UplinkIp6 is { } uplink6)
        {
            addresses.Add(uplink6);
        }

        _localAddresses = [.. addresses];
    }

    public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
    {
        PacketBatch batch = graph.Batch;
        long now = 0;
        foreach (ushort p in packets)
        {
            ref PacketMeta meta = ref batch.Meta(p);
            Span<byte> frame = batch.Frame(p);
            now = meta.Timestamp;
            switch (PacketTuple.Read(frame, in meta, out FlowKey key))
            {
                case TupleKind.Flow:
                    break;
                case TupleKind.IcmpError:
                    TranslateIcmpError<TTrace>(graph, p, frame, ref meta);
                    Forward<TTrace>(graph, p, (int)Next.Bridge);
                    continue;
                default:
                    Count((int)Event.Untracked);
                    Forward<TTrace>(graph, p, (int)Next.Bridge);
                    continue;
            }

            if (_table.TryLookup(in key, now, out int entry, out bool reply))
            {
                int verdict = Established(frame, ref meta, in key, entry, reply, now);
                if (verdict == VerdictForward)
                {
                    Forward<TTrace>(graph, p, (int)Next.Bridge, TraceHit, entry, reply ? 1 : 0);
                    continue;
                }

                if (verdict != VerdictReopen)
                {
                    Drop<TTrace>(graph, p, verdict);
                    continue;
                }

                _table.Remove(entry);
                Count((int)Event.Reopened);
            }

            if (IsLocal(in key))
            {
                Count((int)Event.Untracked);
                Forward<TTrace>(graph, p, (int)Next.Bridge);
                continue;
            }

            NewFlow<TTrace>(graph, p, frame, ref meta, in key, now);
        }

        if (packets.Length > 0)
        {
            _sweeper.Sweep(now, SweepBucketsPerBatch);
        }
    }

    /// <summary>
    /// New traffic to the dataplane's own addresses (ping the gateway) is answered by ip-local, and its answer
    /// never comes back through here: tracking it would only leave entries that never see a reply. (Replies of
    /// hairpinned flows are addressed to the gateway too, but they are hits, found before this check.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsLocal(in FlowKey key)
    {
        foreach (Ip6Address local in _localAddresses)
        {
            if (key.DestinationLo == local.Lo && key.DestinationHi == local.Hi)
            {
                return true;
            }
        }

        return false;
    }

    private const int VerdictForward = -1;
    private const int VerdictReopen = -2;

    /// <summary>A packet of a tracked flow: state machine, deadline, translation. Returns a Verdict* or a drop reason.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Established(Span<byte> frame, ref PacketMeta meta, in FlowKey key, int entry, bool reply, long now)
    {
        ref FlowEntry e = ref _table.Entry(entry);
        long timeout;
        if (key.Protocol == IpProtocol.Tcp)
        {
            var flags = (TcpFlags)frame[meta.L4Offset + 13];
            if (!TcpStateMachine.HasValidFlags(flags))
            {
                return (int)Drop.Invalid;
            }

            TcpState state = e.TcpState;
            byte next = TcpStateMachine.Next(state, reply, flags);
            if (next == TcpStateMachine.Invalid)
            {
                return (int)Drop.Invalid;
            }

            if (next == (byte)TcpState.SynSent && state >= TcpState.TimeWait && state != TcpState.SynSent2)
            {
                return VerdictReopen;
            }

            if (next != TcpStateMachine.Ignore)
            {
                state = (TcpState)next;
                e.TcpState = state;
                if (state >= TcpState.TimeWait && state != TcpState.SynSent2)
                {
                    ReleaseBackend(ref e);
                }
            }

            // Kept for TCP too (only datagram timeouts read it): `ctl conntrack` reports it for every flow.
            if (reply && (e.Flags & FlowFlags.SeenReply) == 0)
            {
                e.Flags |= FlowFlags.SeenReply;
            }

            timeout = _timeouts.Tcp(state);
        }
        else
        {
            if (reply && (e.Flags & FlowFlags.SeenReply) == 0)
            {
                e.Flags |= FlowFlags.SeenReply;
            }

            timeout = _timeouts.Datagram(key.Protocol, (e.Flags & FlowFlags.SeenReply) != 0);
        }

        e.Expires = now + timeout;
        if ((e.Flags & (FlowFlags.Dnat | FlowFlags.SnatAddress | FlowFlags.SnatPort)) != 0)
        {
            FlowKey to = Translated(in e, in key, reply);
            NatRewriter.Rewrite(frame, ref meta, in key, in to);
        }

        return VerdictForward;
    }

    /// <summary>
    /// A closed connection (TIME_WAIT or CLOSE) stops counting toward its backend's open connections now,
    /// not when its entry expires minutes later, so leastconn sees the load as it is (IPVS does the same).
    /// </summary>
    private void ReleaseBackend(ref FlowEntry e)
    {
        FlowFlags flags = e.Flags;
        if ((flags & (FlowFlags.Service | FlowFlags.Released)) != FlowFlags.Service
            || Interlocked.CompareExchange(ref Unsafe.As<FlowFlags, byte>(ref e.Flags), (byte)(flags | FlowFlags.Released), (byte)flags) != (byte)flags)
        {
            return;
        }

        _services.ReleaseConnection(new ServiceKey(e.Original.Destination, (L4Protocol)e.Original.Protocol, e.Original.DestinationPort), e.BackendId);
    }

    /// <summary>
    /// The tuple a packet of this flow leaves with. Original direction: source possibly to the gateway (hairpin)
    /// and a new port (clash), destination to the backend. Reply direction: the reverse of the original tuple.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private FlowKey Translated(in FlowEntry e, in FlowKey key, bool reply)
    {
        if (reply)
        {
            return e.Original.Reverse();
        }

        FlowKey to = key;
        to.DestinationHi = e.NatHi;
        to.DestinationLo = e.NatLo;
        to.DestinationPort = e.NatPort;
        if ((e.Flags & FlowFlags.SnatAddress) != 0)
        {
            IpAddress gateway = (key.SourceHi == 0 && (key.SourceLo >> 32) == 0xFFFF) ? _gateway4 : _gateway6.GetValueOrDefault();
            to.SourceHi = gateway.Bits.Hi;
            to.SourceLo = gateway.Bits.Lo;
        }

        if ((e.Flags & FlowFlags.SnatPort) != 0)
        {
            to.SourcePort = e.SnatPort;
        }

        return to;
    }

    private void NewFlow<TTrace>(Graph graph, ushort p, Span<byte> frame, ref PacketMeta meta, in FlowKey key, long now)
        where TTrace : struct, ITraceMode
    {
        var flow = new FlowEntry { Original = key, NatHi = key.DestinationHi, NatLo = key.DestinationLo, NatPort = key.DestinationPort };
        bool tcp = key.Protocol == IpProtocol.Tcp;
        TcpFlags flags = tcp ? (TcpFlags)frame[meta.L4Offset + 13] : TcpFlags.None;
        if (tcp && !TcpStateMachine.HasValidFlags(flags))
        {
            Drop<TTrace>(graph, p, (int)Drop.Invalid);
            return;
        }

        ServicePort? service = null;
        Backend backend = default;
        if (key.Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp
            && _services.TryLookup(new ServiceKey(key.Destination, (L4Protocol)key.Protocol, key.DestinationPort), out service))
        {
            if ((meta.Flags & PacketFlags.Fragment) != 0)
            {
                Drop<TTrace>(graph, p, (int)Drop.FragmentToService);
                return;
            }

            if (tcp && (flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst | TcpFlags.Fin)) != TcpFlags.Syn)
            {
                Drop<TTrace>(graph, p, (int)Drop.MidstreamToService, (long)flags);
                return;
            }

            IpAddress client = key.Source;
            if (!service.TryPickBackend((uint)key.Hash(), in client, now, out backend))
            {
                // kube-proxy REJECTs traffic to a service without endpoints with ICMP port unreachable.
                bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
                meta.IcmpType = v4 ? Icmp4Type.DestinationUnreachable : Icmp6Type.DestinationUnreachable;
                meta.IcmpCode = v4 ? Icmp4Type.CodePortUnreachable : Icmp6Type.CodePortUnreachable;
                Count((int)Event.NoEndpoints);
                Forward<TTrace>(graph, p, (int)Next.IcmpError);
                return;
            }

            flow.NatHi = backend.Ip.Bits.Hi;
            flow.NatLo = backend.Ip.Bits.Lo;
            flow.NatPort = backend.Port;
            flow.BackendId = backend.StableId;
            flow.Flags = FlowFlags.Dnat | FlowFlags.Service;
            if (backend.Ip == client)
            {
                if (!client.IsV4 && _gateway6 is null)
                {
                    service.ReleaseConnection(backend.StableId);
                    Drop<TTrace>(graph, p, (int)Drop.HairpinWithoutGateway);
                    return;
                }

                flow.Flags |= FlowFlags.SnatAddress;
                Count((int)Event.Hairpins);
            }
        }

        if (tcp)
        {
            if (service is null && (flags & TcpFlags.Rst) != 0)
            {
                // A reset for a connection we never saw: nothing to track, let it through as the kernel does.
                Count((int)Event.Untracked);
                Forward<TTrace>(graph, p, (int)Next.Bridge);
                return;
            }

            byte state = TcpStateMachine.Next(TcpState.None, reply: false, flags);
            if (state >= TcpStateMachine.Ignore)
            {
                Drop<TTrace>(graph, p, (int)Drop.Invalid);
                return;
            }

            flow.TcpState = (TcpState)state;
            flow.Expires = now + _timeouts.Tcp(flow.TcpState);
        }
        else
        {
            if (key.Protocol is IpProtocol.Icmp or IpProtocol.Icmpv6 && frame[meta.L4Offset] is Icmp4Type.EchoReply or Icmp6Type.EchoReply)
            {
                // An echo reply with no request seen: untracked, like the kernel.
                Count((int)Event.Untracked);
                Forward<TTrace>(graph, p, (int)Next.Bridge);
                return;
            }

            flow.Expires = now + _timeouts.Datagram(key.Protocol, seenReply: false);
        }

        // Any flow may get a new source port when its reply tuple is taken (nf_nat does this for every flow):
        // e.g. client:p straight to a backend while client:p -> VIP -> that backend exists.
        InsertResult result = _table.FindOrInsert(in flow, now, allowPortRemap: true, out int entry, out bool reply);
        switch (result)
        {
            case InsertResult.Inserted:
                Count((int)Event.NewFlows);
                if (service is not null)
                {
                    Count((int)Event.ServiceFlows);
                }

                ref FlowEntry e = ref _table.Entry(entry);
                if ((e.Flags & (FlowFlags.Dnat | FlowFlags.SnatAddress | FlowFlags.SnatPort)) != 0)
                {
                    FlowKey to = Translated(in e, in key, reply: false);
                    NatRewriter.Rewrite(frame, ref meta, in key, in to);
                }

                Forward<TTrace>(graph, p, (int)Next.Bridge, TraceNew, entry, (long)backend.Ip.Bits.Lo);
                return;
            case InsertResult.Existing:
                service?.ReleaseConnection(backend.StableId);
                Count((int)Event.InsertRaceJoined);
                int verdict = Established(frame, ref meta, in key, entry, reply, now);
                if (verdict == VerdictForward)
                {
                    Forward<TTrace>(graph, p, (int)Next.Bridge, TraceHit, entry, reply ? 1 : 0);
                }
                else
                {
                    Drop<TTrace>(graph, p, verdict == VerdictReopen ? (int)Drop.Invalid : verdict);
                }

                return;
            case InsertResult.Full:
                service?.ReleaseConnection(backend.StableId);
                Drop<TTrace>(graph, p, (int)Drop.TableFull);
                return;
            default:
                service?.ReleaseConnection(backend.StableId);
                Drop<TTrace>(graph, p, (int)Drop.TupleClash);
                return;
        }
    }

    /// <summary>
    /// An ICMP error quoting packet Q: the flow entry is found by Q's reverse tuple K (the direction the error
    /// travels). The outer header gets K's translation; the quoted header becomes the reverse of K's translated
    /// tuple, i.e. the packet as its sender sent it.
    /// </summary>
    private void TranslateIcmpError<TTrace>(Graph graph, ushort p, Span<byte> frame, ref PacketMeta meta)
        where TTrace : struct, ITraceMode
    {
        int entry = TranslateRelated(frame, ref meta);
        if (entry == RelatedUntracked)
        {
            Count((int)Event.Untracked);
            return;
        }

        if (entry >= 0)
        {
            Count((int)Event.IcmpErrorsTranslated);
            graph.Trace<TTrace>(this, p, TraceIcmpError, entry, BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(meta.L4Offset)));
        }
    }

    /// <summary>
    /// Translates an ICMP error that icmp-error built about a packet this stage had already NATed (too big for the
    /// egress MTU, TTL expired, no route to the backend): it quotes the translated packet and is addressed to its
    /// translated source, so it is mapped back like any related error, as Linux's nf_nat_icmp_reply_translation
    /// does for errors the host itself sends. Returns whether the error was translated.
    /// </summary>
    public bool TranslateGeneratedIcmpError(Span<byte> frame, ref PacketMeta meta)
    {
        if (TranslateRelated(frame, ref meta) < 0)
        {
            return false;
        }

        Count((int)Event.IcmpErrorsTranslated);
        return true;
    }

    private const int RelatedUntracked = -1;
    private const int RelatedNotNatted = -2;

    /// <summary>Rewrites the ICMP error for the flow it quotes. Returns the flow's entry, or RelatedUntracked / RelatedNotNatted.</summary>
    private int TranslateRelated(Span<byte> frame, ref PacketMeta meta)
    {
        if (!PacketTuple.ReadQuoted(frame, in meta, out FlowKey quoted, out int innerL3, out int innerL4))
        {
            return RelatedUntracked;
        }

        FlowKey key = quoted.Reverse();
        if (!_table.TryLookup(in key, meta.Timestamp, out int entry, out bool reply))
        {
            return RelatedUntracked;
        }

        ref FlowEntry e = ref _table.Entry(entry);
        FlowKey to = Translated(in e, in key, reply);
        if (to == key)
        {
            return RelatedNotNatted;
        }

        bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
        Span<byte> l3 = frame.Slice(meta.L3Offset);
        IpAddress outerSource = v4 ? Ip4Address.Read(l3.Slice(12)) : Ip6Address.Read(l3.Slice(8));
        IpAddress outerDestination = v4 ? Ip4Address.Read(l3.Slice(16)) : Ip6Address.Read(l3.Slice(24));
        if (outerSource == key.Source)
        {
            outerSource = to.Source;
        }

        if (outerDestination == key.Destination)
        {
            outerDestination = to.Destination;
        }

        NatRewriter.RewriteIcmpError(frame, ref meta, outerSource, outerDestination, to.Reverse(), innerL3, innerL4);
        return entry;
    }

    public override string FormatTrace(in TraceRecord record) => record.Code switch
    {
        TraceHit => $"flow {record.A} {(record.B == 1 ? "reply" : "original")} direction",
        TraceNew => $"new flow {record.A}",
        TraceIcmpError => $"icmp error for flow {record.A} translated",
        _ => "",
    };
}
