using Dataplane.Conntrack;
using Dataplane.Packets;

namespace Dataplane.Tests.Conntrack;

/// <summary>
/// Transitions checked against nf_conntrack's tcp_conntracks[][][] (net/netfilter/nf_conntrack_proto_tcp.c, Linux 6.x),
/// one golden row per (state, direction, packet): the kernel's comment for the transition is the case's description.
/// </summary>
[Trait("Category", "unit")]
public class TcpStateMachineTests
{
    private const byte IV = TcpStateMachine.Invalid;
    private const byte IG = TcpStateMachine.Ignore;

    private const TcpFlags Syn = TcpFlags.Syn;
    private const TcpFlags SynAck = TcpFlags.Syn | TcpFlags.Ack;
    private const TcpFlags FinAck = TcpFlags.Fin | TcpFlags.Ack;
    private const TcpFlags Ack = TcpFlags.Ack;
    private const TcpFlags Rst = TcpFlags.Rst;

    public static TheoryData<string, TcpState, bool, TcpFlags, byte> Transitions => new()
    {
        // Handshake.
        { "sNO -> sSS: initialize a new connection", TcpState.None, false, Syn, (byte)TcpState.SynSent },
        { "sSS -> sSS: retransmitted SYN", TcpState.SynSent, false, Syn, (byte)TcpState.SynSent },
        { "sSS -> sSR: SYN/ACK in reply", TcpState.SynSent, true, SynAck, (byte)TcpState.SynRecv },
        { "sSR -> sES: established state is reached", TcpState.SynRecv, false, Ack, (byte)TcpState.Established },
        { "sES -> sES: data", TcpState.Established, false, Ack, (byte)TcpState.Established },
        { "sES -> sES: data in reply", TcpState.Established, true, Ack, (byte)TcpState.Established },
        { "sSR -> sIG: retransmitted SYN/ACK in reply", TcpState.SynRecv, true, SynAck, IG },
        { "sNO -> sES: ACK picks up a connection midstream (assumed)", TcpState.None, false, Ack, (byte)TcpState.Established },

        // Simultaneous open.
        { "sSS -> sS2: simultaneous open", TcpState.SynSent, true, Syn, (byte)TcpState.SynSent2 },
        { "sS2 -> sSR: SYN/ACK sent to SYN2", TcpState.SynSent2, false, SynAck, (byte)TcpState.SynRecv },

        // FIN both ways, then the last ACK: TIME_WAIT.
        { "sES -> sFW: close started", TcpState.Established, false, FinAck, (byte)TcpState.FinWait },
        { "sFW -> sCW: normal close request answered by ACK", TcpState.FinWait, true, Ack, (byte)TcpState.CloseWait },
        { "sCW -> sLA: FIN in the other direction", TcpState.CloseWait, true, FinAck, (byte)TcpState.LastAck },
        { "sFW -> sLA: FIN seen in both directions", TcpState.FinWait, true, FinAck, (byte)TcpState.LastAck },
        { "sLA -> sTW: last ACK detected", TcpState.LastAck, false, Ack, (byte)TcpState.TimeWait },
        { "sLA -> sLA: retransmitted FIN", TcpState.LastAck, false, FinAck, (byte)TcpState.LastAck },
        { "sTW -> sTW: retransmitted last ACK", TcpState.TimeWait, false, Ack, (byte)TcpState.TimeWait },
        { "sTW -> sSS: reopened connection (RFC 1122)", TcpState.TimeWait, false, Syn, (byte)TcpState.SynSent },
        { "sCL -> sSS: SYN after close", TcpState.Close, false, Syn, (byte)TcpState.SynSent },

        // RST.
        { "sES -> sCL: RST", TcpState.Established, false, Rst, (byte)TcpState.Close },
        { "sES -> sCL: RST in reply", TcpState.Established, true, Rst, (byte)TcpState.Close },
        { "sSS -> sCL: connection refused", TcpState.SynSent, true, Rst | TcpFlags.Ack, (byte)TcpState.Close },
        { "sNO -> sIV: RST for nothing", TcpState.None, false, Rst, IV },

        // Invalid.
        { "sNO -> sIV: SYN/ACK too late, no reason to do anything", TcpState.None, false, SynAck, IV },
        { "sSS -> sIV: client can't send SYN and then SYN/ACK", TcpState.SynSent, false, SynAck, IV },
        { "sES -> sIV: invalid SYN/ACK packets sent by the client", TcpState.Established, false, SynAck, IV },
        { "sFW -> sIV: SYN/ACK from the client while closing", TcpState.FinWait, false, SynAck, IV },
        { "sSR -> sSR: late retransmitted SYN/ACK in simultaneous open", TcpState.SynRecv, false, SynAck, (byte)TcpState.SynRecv },
        { "sSS -> sIV: ACK is invalid, we haven't seen a SYN/ACK yet", TcpState.SynSent, false, Ack, IV },
        { "sSS -> sIV: client might not send FIN before the SYN/ACK", TcpState.SynSent, false, FinAck, IV },
        { "sSR -> sIV: invalid SYN packets sent by the server", TcpState.SynRecv, true, Syn, IV },
        { "sNO -> sIV: reply SYN never reached", TcpState.None, true, Syn, IV },
        { "sES -> sIG: SYN in window outside SYN_SENT (receiver will RST)", TcpState.Established, false, Syn, IG },
        { "sSS -> sIG: ACK in reply before SYN/ACK", TcpState.SynSent, true, Ack, IG },
    };

    [Theory]
    [MemberData(nameof(Transitions))]
    public void Transition_matches_nf_conntrack(string description, TcpState state, bool reply, TcpFlags flags, byte expected)
    {
        byte next = TcpStateMachine.Next(state, reply, flags);
        Assert.True(expected == next, $"{description}: got {Name(next)}, expected {Name(expected)}");
    }

    [Fact]
    public void Whole_connection_walks_the_states_kube_proxy_times_out()
    {
        (bool Reply, TcpFlags Flags, TcpState After)[] connection =
        [
            (false, Syn, TcpState.SynSent),
            (true, SynAck, TcpState.SynRecv),
            (false, Ack, TcpState.Established),
            (false, Ack | TcpFlags.Psh, TcpState.Established),
            (true, Ack | TcpFlags.Psh, TcpState.Established),
            (false, FinAck, TcpState.FinWait),
            (true, Ack, TcpState.CloseWait),
            (true, FinAck, TcpState.LastAck),
            (false, Ack, TcpState.TimeWait),
        ];
        TcpState state = TcpState.None;
        foreach ((bool reply, TcpFlags flags, TcpState after) in connection)
        {
            Assert.True(TcpStateMachine.HasValidFlags(flags), $"{flags} should be valid");
            state = (TcpState)TcpStateMachine.Next(state, reply, flags);
            Assert.Equal(after, state);
        }
    }

    [Theory]
    [InlineData(TcpFlags.Syn, true)]
    [InlineData(TcpFlags.Syn | TcpFlags.Ack, true)]
    [InlineData(TcpFlags.Rst, true)]
    [InlineData(TcpFlags.Rst | TcpFlags.Ack, true)]
    [InlineData(TcpFlags.Fin | TcpFlags.Ack, true)]
    [InlineData(TcpFlags.Ack, true)]
    [InlineData(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Urg, true)]
    [InlineData(TcpFlags.None, false)]
    [InlineData(TcpFlags.Fin, false)]
    [InlineData(TcpFlags.Syn | TcpFlags.Fin, false)]
    [InlineData(TcpFlags.Syn | TcpFlags.Rst, false)]
    [InlineData(TcpFlags.Fin | TcpFlags.Rst | TcpFlags.Ack, false)]
    [InlineData(TcpFlags.Fin | TcpFlags.Syn | TcpFlags.Rst | TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Urg, false)]
    public void Flag_combinations_are_validated_as_tcp_error_does(TcpFlags flags, bool valid)
        => Assert.Equal(valid, TcpStateMachine.HasValidFlags(flags));

    private static string Name(byte state) => state switch
    {
        IV => "INVALID",
        IG => "IGNORE",
        _ => ((TcpState)state).ToString(),
    };
}
