using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Conntrack;

/// <summary>The configured timeouts in pipeline-clock nanoseconds, indexed the way the conntrack stage needs them.</summary>
public sealed class ConntrackTimeoutTable
{
    private readonly long[] _tcp = new long[10];

    public ConntrackTimeoutTable(ConntrackTimeouts seconds)
    {
        _tcp[(int)TcpState.None] = Ns(seconds.TcpSynSent);
        _tcp[(int)TcpState.SynSent] = Ns(seconds.TcpSynSent);
        _tcp[(int)TcpState.SynRecv] = Ns(seconds.TcpSynRecv);
        _tcp[(int)TcpState.Established] = Ns(seconds.TcpEstablished);
        _tcp[(int)TcpState.FinWait] = Ns(seconds.TcpFinWait);
        _tcp[(int)TcpState.CloseWait] = Ns(seconds.TcpCloseWait);
        _tcp[(int)TcpState.LastAck] = Ns(seconds.TcpLastAck);
        _tcp[(int)TcpState.TimeWait] = Ns(seconds.TcpTimeWait);
        _tcp[(int)TcpState.Close] = Ns(seconds.TcpClose);
        _tcp[(int)TcpState.SynSent2] = Ns(seconds.TcpSynSent);
        Udp = Ns(seconds.Udp);
        UdpStream = Ns(seconds.UdpStream);
        Icmp = Ns(seconds.Icmp);
        Longest = Math.Max(Math.Max(_tcp.Max(), Udp), Math.Max(UdpStream, Icmp));
    }

    /// <summary>The longest any entry lives past its last packet: no live entry's deadline is further away than this.</summary>
    public long Longest { get; }

    public long Udp { get; }

    public long UdpStream { get; }

    public long Icmp { get; }

    public long Tcp(TcpState state) => _tcp[(int)state];

    /// <summary>Timeout after a packet of a non-TCP flow; a UDP (or SCTP) flow that has seen a reply gets the stream timeout.</summary>
    public long Datagram(byte protocol, bool seenReply) => protocol switch
    {
        IpProtocol.Icmp or IpProtocol.Icmpv6 => Icmp,
        _ => seenReply ? UdpStream : Udp,
    };

    private static long Ns(int seconds) => seconds * 1_000_000_000L;
}
