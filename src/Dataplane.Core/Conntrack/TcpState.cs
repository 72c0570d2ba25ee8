using Dataplane.Packets;

namespace Dataplane.Conntrack;

/// <summary>TCP connection states as nf_conntrack names them (include/uapi/linux/netfilter/nf_conntrack_tcp.h).</summary>
public enum TcpState : byte
{
    None,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    CloseWait,
    LastAck,
    TimeWait,
    Close,
    /// <summary>Simultaneous open: both sides sent SYN.</summary>
    SynSent2,
}

/// <summary>
/// The TCP state machine of nf_conntrack (net/netfilter/nf_conntrack_proto_tcp.c, tcp_conntracks[][][]):
/// the middlebox's view of a connection from the flags it sees in each direction. Window tracking
/// (nf_conntrack's tcp_in_window) is not done: a packet is judged by its flags alone.
/// </summary>
public static class TcpStateMachine
{
    /// <summary>The transition is not valid here: the packet is counted as invalid and dropped (kube-proxy drops INVALID).</summary>
    public const byte Invalid = 0xFF;

    /// <summary>Accept the packet without changing state (e.g. a retransmitted SYN-ACK).</summary>
    public const byte Ignore = 0xFE;

    private const byte sNO = (byte)TcpState.None, sSS = (byte)TcpState.SynSent, sSR = (byte)TcpState.SynRecv,
        sES = (byte)TcpState.Established, sFW = (byte)TcpState.FinWait, sCW = (byte)TcpState.CloseWait,
        sLA = (byte)TcpState.LastAck, sTW = (byte)TcpState.TimeWait, sCL = (byte)TcpState.Close,
        sS2 = (byte)TcpState.SynSent2, sIV = Invalid, sIG = Ignore;

    // [direction][packet kind][old state]; columns: sNO sSS sSR sES sFW sCW sLA sTW sCL sS2.
    private static readonly byte[] s_table =
    [
        // original direction
        sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2, // SYN
        sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR, // SYN+ACK
        sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV, // FIN
        sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV, // ACK
        sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, // RST
        sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, // none of these
        // reply direction
        sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2, // SYN
        sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR, // SYN+ACK
        sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV, // FIN
        sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG, // ACK
        sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, // RST
        sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, // none of these
    ];

    /// <summary>The next state, <see cref="Invalid"/> or <see cref="Ignore"/>.</summary>
    public static byte Next(TcpState current, bool reply, TcpFlags flags)
    {
        int kind = (flags & TcpFlags.Rst) != 0 ? 4
            : (flags & TcpFlags.Syn) != 0 ? ((flags & TcpFlags.Ack) != 0 ? 1 : 0)
            : (flags & TcpFlags.Fin) != 0 ? 2
            : (flags & TcpFlags.Ack) != 0 ? 3
            : 5;
        return s_table[((reply ? 6 : 0) + kind) * 10 + (int)current];
    }

    /// <summary>Flag combinations nf_conntrack's tcp_error() accepts (tcp_valid_flags[]); anything else is invalid.</summary>
    public static bool HasValidFlags(TcpFlags flags)
    {
        // ECE, CWR and PSH are ignored, as the kernel does; URG is allowed only where tcp_valid_flags allows it.
        var f = flags & (TcpFlags.Fin | TcpFlags.Syn | TcpFlags.Rst | TcpFlags.Ack | TcpFlags.Urg);
        return f is TcpFlags.Syn or (TcpFlags.Syn | TcpFlags.Urg) or (TcpFlags.Syn | TcpFlags.Ack) or TcpFlags.Rst
            or (TcpFlags.Rst | TcpFlags.Ack) or (TcpFlags.Fin | TcpFlags.Ack) or (TcpFlags.Fin | TcpFlags.Ack | TcpFlags.Urg)
            or TcpFlags.Ack or (TcpFlags.Ack | TcpFlags.Urg);
    }
}
