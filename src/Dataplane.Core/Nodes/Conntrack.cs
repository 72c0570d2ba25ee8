using System.Buffers.Binary;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using Dataplane.Conntrack;
using Dataplane.Model;
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
/// <item>Fairness: a new flow from a pod counts toward that pod's share of entries and new flows per second
/// (<see cref="PodFlowLimits"/>), and a full table early-drops an unanswered flow for it (<see cref="EarlyDropPolicy"/>).</item>
/// <item>Hairpin: a client that is its own backend is source-NATed to the gateway so the reply comes back here.</item>
/// <item>External entrances (NodePort, external and load-balancer IPs) follow their <see cref="FrontendPolicy"/>:
/// source ranges, local endpoints only, or the client source-NATed to the node (kube-proxy's KUBE-EXT chains).</item>
/// <item>Masquerade: a pod's flow to outside the cluster (<see cref="MasqueradePolicy"/>) leaves with the node's address
/// and a port of the node's SNAT range, unique per destination, so two pods never share a reply tuple.</item>
/// <item>ICMP errors quoting a tracked flow are translated, quoted header included (path-MTU through a VIP);
/// errors the dataplane builds itself are translated the same way by icmp-error-nat (<see cref="FlowTranslator"/>).</item>
/// </list>
/// </summary>
public sealed class Conntrack : Node<Conntrack.Next, Conntrack.Drop, Conntrack.Event>
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
        [Description("conntrack table full, and no unanswered flow near the new one to early-drop: new flow refused")]
        TableFull,
        [Description("reply tuple taken by another flow and no free source port")]
        TupleClash,
        [Description("hairpin to an IPv6 service without node.gatewayIpV6 to source-NAT to")]
        HairpinWithoutGateway,
        [Description("client outside the load-balancer IP's loadBalancerSourceRanges")]
        SourceRangeDenied,
        [Description("external traffic (externalTrafficPolicy: Local) to a service with no endpoint on this node")]
        NoLocalEndpoint,
        [Description("new flow refused: its pod holds conntrack.perPod.maxEntries entries already")]
        PodEntryLimit,
        [Description("new flow refused: its pod opens more than conntrack.perPod.newFlowsPerSecond (after its burst)")]
        PodRateLimit,
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
        [Description("ICMP errors from other hosts translated for the flow they quote (our own: icmp-error-nat)")]
        IcmpErrorsTranslated,
        [Description("packets not tracked (protocols without ports, ICMP other than echo, later fragments, the node's own traffic)")]
        Untracked,
        [Description("new flows from pods to outside the cluster, source-NATed to the node (masquerade)")]
        Masqueraded,
        [Description("new external flows (NodePort, external or load-balancer IP) to a service")]
        ExternalFlows,
        [Description("new flows refused because every SNAT source port toward that destination is taken (answered with ICMP administratively prohibited)")]
        SnatPortsExhausted,
        [Description("unanswered flows dropped from the full table to make room for a new one (nf_conntrack's early_drop)")]
        EarlyDrop,
    }

    private const ushort TraceHit = 1;
    private const ushort TraceNew = 2;
    private const ushort TraceIcmpError = 3;
    private const int SweepBucketsPerBatch = 4;

    private readonly ConntrackTable _table;
    private readonly ServiceTable _services;
    private readonly ConntrackTimeoutTable _timeouts;
    private readonly FlowTranslator _translator;
    private readonly MasqueradePolicy _masquerade;
    private readonly Ip6Address[] _localAddresses;
    private readonly PortTable? _ports;

    /// <summary>This worker's stripe of conntrack expiry: a few buckets per batch here, more when the worker is idle.</summary>
    public ConntrackSweeper Sweeper { get; }

    /// <param name="sweeper">This worker's stripe of the table to expire; by default the whole table (one worker).</param>
    /// <param name="ports">The node's ports: a new flow from a pod port is charged to that pod (<see cref="PodFlowLimits"/>); without them, to none.</param>
    public Conntrack(ConntrackTable table, ServiceTable services, ConntrackTimeoutTable timeouts, LocalAddresses local, ConntrackSweeper? sweeper = null, MasqueradePolicy? masquerade = null, PortTable? ports = null)
    {
        _ports = ports;
        _masquerade = masquerade ?? MasqueradePolicy.Off;
        _table = table;
        Sweeper = sweeper ?? new ConntrackSweeper(table);
        _services = services;
        _timeouts = timeouts;
        _translator = new FlowTranslator(table, local);
        // With a host port the uplink's addresses are the node kernel's, which answers: its flows are tracked.
        var addresses = new List<Ip6Address> { new IpAddress(local.GatewayIp).Bits };
        if (!local.HasHostPort)
        {
            addresses.Add(new IpAddress(local.UplinkIp).Bits);
        }

        if (local.GatewayIp6 is { } gateway6)
        {
            addresses.Add(gateway6);
        }

        if (local.UplinkIp6 is { } uplink6 && !local.HasHostPort)
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
                    Forward<TTrace>(graph, p, Next.Bridge);
                    continue;
                default:
                    Count(Event.Untracked);
                    Forward<TTrace>(graph, p, Next.Bridge);
                    continue;
            }

            if (_table.TryLookup(in key, now, out int entry, out bool reply))
            {
                switch (Established(frame, ref meta, in key, entry, reply, now))
                {
                    case Verdict.Forward:
                        Forward<TTrace>(graph, p, Next.Bridge, TraceHit, entry, reply ? 1 : 0);
                        continue;
                    case Verdict.Invalid:
                        Drop<TTrace>(graph, p, Drop.Invalid);
                        continue;
                }

                // Verdict.Reopen: the old connection's entry goes, and the SYN starts a new flow below.
                _table.Remove(entry);
                Count(Event.Reopened);
            }

            if ((IsLocal(key.DestinationHi, key.DestinationLo) || IsLocal(key.SourceHi, key.SourceLo)) && !IsService(in key))
            {
                Count(Event.Untracked);
                Forward<TTrace>(graph, p, Next.Bridge);
                continue;
            }

            NewFlow<TTrace>(graph, p, frame, ref meta, in key, now);
        }

        if (packets.Length > 0)
        {
            Sweeper.Sweep(now, SweepBucketsPerBatch);
        }
    }

    /// <summary>
    /// New traffic to or from the dataplane's own addresses that is not a service (ping the gateway, or the uplink
    /// address when no host port gives it to the node's kernel) is not tracked: ip-local answers it without coming back
    /// here, so an entry would never see a reply. With a host port the uplink's addresses are the kernel's and its
    /// flows are tracked like any other (so the masquerade never hands out a tuple the kernel uses, and a kernel's
    /// SYN-ACK is a reply, not an invalid first packet). Replies of hairpinned and SNATed flows are addressed to these
    /// addresses too, but they are hits, found before this check. NodePorts are services on the node's address and
    /// are tracked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsLocal(ulong hi, ulong lo)
    {
        foreach (Ip6Address local in _localAddresses)
        {
            if (lo == local.Lo && hi == local.Hi)
            {
                return true;
            }
        }

        return false;
    }

    private bool IsService(in FlowKey key)
        => key.Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp
            && _services.TryLookup(new ServiceKey(key.Destination, (L4Protocol)key.Protocol, key.DestinationPort), out _);

    /// <summary>What becomes of a packet of a tracked flow.</summary>
    private enum Verdict
    {
        /// <summary>Translated if the flow is; send it on.</summary>
        Forward,

        /// <summary>A SYN reopening a connection in TIME_WAIT or CLOSE: remove the entry and track it anew.</summary>
        Reopen,

        /// <summary>Does not fit the connection's state, or an invalid flag combination (<see cref="Drop.Invalid"/>).</summary>
        Invalid,
    }

    /// <summary>A packet of a tracked flow: state machine, deadline, translation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Verdict Established(Span<byte> frame, ref PacketMeta meta, in FlowKey key, int entry, bool reply, long now)
    {
        ref FlowEntry e = ref _table.Entry(entry);
        long timeout;
        if (key.Protocol == IpProtocol.Tcp)
        {
            TcpFlags flags = ReadTcpFlags(frame, in meta);
            if (!TcpStateMachine.HasValidFlags(flags))
            {
                return Verdict.Invalid;
            }

            TcpState state = e.TcpState;
            byte next = TcpStateMachine.Next(state, reply, flags);
            if (next == TcpStateMachine.Invalid)
            {
                return Verdict.Invalid;
            }

            if (next == (byte)TcpState.SynSent && state >= TcpState.TimeWait && state != TcpState.SynSent2)
            {
                return Verdict.Reopen;
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
        _table.Account(entry, reply, IpLength(in meta));
        if ((e.Flags & (FlowFlags.Dnat | FlowFlags.SnatAddress | FlowFlags.SnatPort)) != 0)
        {
            FlowKey to = _translator.Translated(in e, in key, reply);
            NatRewriter.Rewrite(frame, ref meta, in key, in to);
        }

        return Verdict.Forward;
    }

    /// <summary>What nf_conntrack_acct counts as a packet's bytes: the IP packet (skb->len at the IP layer), not the Ethernet frame.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int IpLength(in PacketMeta meta) => meta.Length - meta.L3Offset;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TcpFlags ReadTcpFlags(Span<byte> frame, in PacketMeta meta) => (TcpFlags)frame[meta.L4Offset + TcpHeader.FlagsOffset];

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

    private void NewFlow<TTrace>(Graph graph, ushort p, Span<byte> frame, ref PacketMeta meta, in FlowKey key, long now)
        where TTrace : struct, ITraceMode
    {
        var flow = new FlowEntry { Original = key, NatHi = key.DestinationHi, NatLo = key.DestinationLo, NatPort = key.DestinationPort };
        bool tcp = key.Protocol == IpProtocol.Tcp;
        TcpFlags flags = tcp ? ReadTcpFlags(frame, in meta) : TcpFlags.None;
        if (tcp && !TcpStateMachine.HasValidFlags(flags))
        {
            Drop<TTrace>(graph, p, Drop.Invalid);
            return;
        }

        ServicePort? service = null;
        Backend backend = default;
        if (key.Protocol is IpProtocol.Tcp or IpProtocol.Udp or IpProtocol.Sctp
            && _services.TryLookup(new ServiceKey(key.Destination, (L4Protocol)key.Protocol, key.DestinationPort), out service))
        {
            if ((meta.Flags & PacketFlags.Fragment) != 0)
            {
                Drop<TTrace>(graph, p, Drop.FragmentToService);
                return;
            }

            if (tcp && (flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst | TcpFlags.Fin)) != TcpFlags.Syn)
            {
                Drop<TTrace>(graph, p, Drop.MidstreamToService, (long)flags);
                return;
            }

            IpAddress client = key.Source;
            FrontendPolicy policy = service.Policy;
            if (!policy.Admits(in client))
            {
                Drop<TTrace>(graph, p, Drop.SourceRangeDenied);
                return;
            }

            if (!service.TryPickBackend((uint)key.Hash(), in client, now, out backend))
            {
                if (policy.IsExternal && policy.LocalOnly)
                {
                    // kube-proxy drops here (no reject): the balancer's health check already steers clients away.
                    Drop<TTrace>(graph, p, Drop.NoLocalEndpoint);
                    return;
                }

                // kube-proxy REJECTs traffic to a service without endpoints with ICMP port unreachable.
                Reject<TTrace>(graph, p, ref meta, Icmp4Type.CodePortUnreachable, Icmp6Type.CodePortUnreachable, Event.NoEndpoints);
                return;
            }

            flow.NatHi = backend.Ip.Bits.Hi;
            flow.NatLo = backend.Ip.Bits.Lo;
            flow.NatPort = backend.Port;
            flow.BackendId = backend.StableId;
            flow.Flags = FlowFlags.Dnat | FlowFlags.Service;
            if (policy.IsExternal)
            {
                Count(Event.ExternalFlows);
            }

            if (policy.SnatToNode)
            {
                // The client must see the reply come from the node it asked, whichever node the backend is on.
                flow.Flags |= FlowFlags.SnatNode;
            }
            else if (backend.Ip == client)
            {
                if (!client.IsV4 && !_translator.HasGateway6)
                {
                    service.ReleaseConnection(backend.StableId);
                    Drop<TTrace>(graph, p, Drop.HairpinWithoutGateway);
                    return;
                }

                flow.Flags |= FlowFlags.SnatAddress;
                Count(Event.Hairpins);
            }
        }
        else if (_masquerade.Applies(in key))
        {
            flow.Flags = FlowFlags.SnatNode;
        }

        if (tcp)
        {
            if (service is null && (flags & TcpFlags.Rst) != 0)
            {
                // A reset for a connection we never saw: nothing to track, let it through as the kernel does.
                Count(Event.Untracked);
                Forward<TTrace>(graph, p, Next.Bridge);
                return;
            }

            byte state = TcpStateMachine.Next(TcpState.None, reply: false, flags);
            if (state >= TcpStateMachine.Ignore)
            {
                Drop<TTrace>(graph, p, Drop.Invalid);
                return;
            }

            flow.TcpState = (TcpState)state;
            flow.Expires = now + _timeouts.Tcp(flow.TcpState);
        }
        else
        {
            if (key.Protocol is IpProtocol.Icmp or IpProtocol.Icmpv6 && frame[meta.L4Offset + IcmpHeader.TypeOffset] is Icmp4Type.EchoReply or Icmp6Type.EchoReply)
            {
                // An echo reply with no request seen: untracked, like the kernel.
                Count(Event.Untracked);
                Forward<TTrace>(graph, p, Next.Bridge);
                return;
            }

            flow.Expires = now + _timeouts.Datagram(key.Protocol, seenReply: false);
        }

        // Flows a pod opens count toward its share; the uplink's and the node kernel's toward none (they carry many
        // clients, whom early drop protects instead).
        if (_ports?[meta.RxPort] is { Kind: PortKind.Pod })
        {
            flow.Owner = PodFlowLimits.OwnerOf(meta.RxPort);
        }

        // Any flow may get a new source port when its reply tuple is taken (nf_nat does this for every flow):
        // e.g. client:p straight to a backend while client:p -> VIP -> that backend exists.
        InsertResult result = _table.FindOrInsert(in flow, now, allowPortRemap: true, out int entry, out bool reply);
        switch (result)
        {
            case InsertResult.Inserted:
            case InsertResult.InsertedByEarlyDrop:
                if (result == InsertResult.InsertedByEarlyDrop)
                {
                    Count(Event.EarlyDrop);
                }

                Count(Event.NewFlows);
                if (service is not null)
                {
                    Count(Event.ServiceFlows);
                }
                else if ((flow.Flags & FlowFlags.SnatNode) != 0)
                {
                    Count(Event.Masqueraded);
                }

                _table.Account(entry, reply: false, IpLength(in meta));
                ref FlowEntry e = ref _table.Entry(entry);
                if ((e.Flags & (FlowFlags.Dnat | FlowFlags.SnatAddress | FlowFlags.SnatPort)) != 0)
                {
                    FlowKey to = _translator.Translated(in e, in key, reply: false);
                    NatRewriter.Rewrite(frame, ref meta, in key, in to);
                }

                Forward<TTrace>(graph, p, Next.Bridge, TraceNew, entry, (long)backend.Ip.Bits.Lo);
                return;
            case InsertResult.Existing:
                service?.ReleaseConnection(backend.StableId);
                Count(Event.InsertRaceJoined);
                if (Established(frame, ref meta, in key, entry, reply, now) == Verdict.Forward)
                {
                    Forward<TTrace>(graph, p, Next.Bridge, TraceHit, entry, reply ? 1 : 0);
                }
                else
                {
                    // Reopen too: the entry was there a moment ago, so this SYN raced its own flow's insert.
                    Drop<TTrace>(graph, p, Drop.Invalid);
                }

                return;
            case InsertResult.Full:
                service?.ReleaseConnection(backend.StableId);
                Drop<TTrace>(graph, p, Drop.TableFull);
                return;
            case InsertResult.PodEntryLimit:
                service?.ReleaseConnection(backend.StableId);
                Drop<TTrace>(graph, p, Drop.PodEntryLimit, meta.RxPort);
                return;
            case InsertResult.PodRateLimit:
                service?.ReleaseConnection(backend.StableId);
                Drop<TTrace>(graph, p, Drop.PodRateLimit, meta.RxPort);
                return;
            default:
                service?.ReleaseConnection(backend.StableId);
                if ((flow.Flags & FlowFlags.SnatNode) != 0)
                {
                    // Out of SNAT ports toward this destination: tell the client now rather than let it time out.
                    Reject<TTrace>(graph, p, ref meta, Icmp4Type.CodeAdministrativelyProhibited, Icmp6Type.CodeAdministrativelyProhibited, Event.SnatPortsExhausted);
                    return;
                }

                Drop<TTrace>(graph, p, Drop.TupleClash);
                return;
        }
    }

    /// <summary>Refuses a new flow with "destination unreachable" of the packet's family and the given code, counted as <paramref name="why"/>.</summary>
    private void Reject<TTrace>(Graph graph, ushort p, ref PacketMeta meta, byte code4, byte code6, Event why)
        where TTrace : struct, ITraceMode
    {
        bool v4 = (meta.Flags & PacketFlags.Ip4) != 0;
        meta.IcmpType = v4 ? Icmp4Type.DestinationUnreachable : Icmp6Type.DestinationUnreachable;
        meta.IcmpCode = v4 ? code4 : code6;
        Count(why);
        Forward<TTrace>(graph, p, Next.IcmpError);
    }

    /// <summary>An ICMP error another host sent about a packet of a tracked flow: translated for that flow.</summary>
    private void TranslateIcmpError<TTrace>(Graph graph, ushort p, Span<byte> frame, ref PacketMeta meta)
        where TTrace : struct, ITraceMode
    {
        switch (_translator.TranslateIcmpError(frame, ref meta, out int entry))
        {
            case IcmpErrorTranslation.Untracked:
                Count(Event.Untracked);
                break;
            case IcmpErrorTranslation.Translated:
                Count(Event.IcmpErrorsTranslated);
                graph.Trace<TTrace>(this, p, TraceIcmpError, entry, BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(meta.L4Offset)));
                break;
        }
    }

    public override string FormatTrace(in TraceRecord record) => record.Code switch
    {
        TraceHit => $"flow {record.A} {(record.B == 1 ? "reply" : "original")} direction",
        TraceNew => $"new flow {record.A}",
        TraceIcmpError => $"icmp error for flow {record.A} translated",
        _ => "",
    };
}
