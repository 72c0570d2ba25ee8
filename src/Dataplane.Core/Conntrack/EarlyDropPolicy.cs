using System.Runtime.CompilerServices;
using Dataplane.Packets;

namespace Dataplane.Conntrack;

/// <summary>
/// Which flow a full table gives up for a new one (nf_conntrack's early_drop): without it, one pod sending new
/// UDP flows that are never answered fills the table and every other pod's new connections are refused until the
/// flood's entries time out (measured: 0 of 20). The table looks at the original-direction slots of
/// <see cref="Buckets"/> index buckets from the new tuple's home bucket (the kernel looks at a bounded stretch of
/// the new tuple's hash chain too), so the work per insert is bounded and no scan of the table ever happens.
/// Only flows nobody has answered, or TCP connections not (or no longer) established, may go: an answered flow is
/// someone's conversation, and dropping it would break the very connections the table is there to keep. Among the
/// candidates the one nearest its expiry goes: it was going to be the first to leave anyway, and a connection
/// attempt of a moment ago (a fresh SYN, whose deadline is furthest away) outlives the flood's older entries.
/// </summary>
public static class EarlyDropPolicy
{
    /// <summary>
    /// Index buckets looked at per refused insert. At the table's load a bucket holds about two original-direction
    /// slots, so 8 buckets (8 cache lines) offer about 18 candidates: under a flood of unanswered flows almost every
    /// stretch has one.
    /// </summary>
    public const int Buckets = 8;

    /// <summary>
    /// Whether <paramref name="e"/> may be dropped to make room: no reply seen, or a TCP connection outside
    /// ESTABLISHED (half-open, or closing: the kernel's tcp_can_early_drop lets closing connections go too).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Evictable(in FlowEntry e)
        => (e.Flags & FlowFlags.SeenReply) == 0 || (e.Original.Protocol == IpProtocol.Tcp && e.TcpState != TcpState.Established);

    /// <summary>Whether candidate <paramref name="e"/> is a better victim than one expiring at <paramref name="soonest"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Prefer(in FlowEntry e, long soonest) => e.Expires < soonest;
}
