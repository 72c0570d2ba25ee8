using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Packets;

namespace Dataplane.Conntrack;

/// <summary>
/// A flow's 5-tuple as conntrack sees one direction of it. Both families share the layout: IPv4 addresses
/// are IPv4-mapped (<c>::ffff:a.b.c.d</c>), so one table and one compare serve both. For ICMP echo the
/// identifier stands in for a port: a request is (id, 0), a reply (0, id), so a request's reverse tuple is
/// its reply's tuple, as conntrack needs.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct FlowKey : IEquatable<FlowKey>
{
    public ulong SourceHi;
    public ulong SourceLo;
    public ulong DestinationHi;
    public ulong DestinationLo;
    public ushort SourcePort;
    public ushort DestinationPort;
    public byte Protocol;

    public FlowKey(IpAddress source, IpAddress destination, ushort sourcePort, ushort destinationPort, byte protocol)
    {
        SourceHi = source.Bits.Hi;
        SourceLo = source.Bits.Lo;
        DestinationHi = destination.Bits.Hi;
        DestinationLo = destination.Bits.Lo;
        SourcePort = sourcePort;
        DestinationPort = destinationPort;
        Protocol = protocol;
    }

    public readonly IpAddress Source => new IpAddress(new Ip6Address(SourceHi, SourceLo));

    public readonly IpAddress Destination => new IpAddress(new Ip6Address(DestinationHi, DestinationLo));

    /// <summary>The same flow seen from the other end.</summary>
    public readonly FlowKey Reverse() => new()
    {
        SourceHi = DestinationHi,
        SourceLo = DestinationLo,
        DestinationHi = SourceHi,
        DestinationLo = SourceLo,
        SourcePort = DestinationPort,
        DestinationPort = SourcePort,
        Protocol = Protocol,
    };

    /// <summary>
    /// 64-bit hash (the table takes the low bits for the bucket and the high 32 as the slot signature).
    /// Multiply-xorshift mixing of the four address words and the ports, finished with murmur3's fmix64:
    /// a handful of cycles, and sequential pod IPs and ports spread over all buckets.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong Hash()
    {
        const ulong K = 0x9E37_79B9_7F4A_7C15UL;
        ulong h = (SourceLo * K) ^ BitRotate(DestinationLo * K, 31);
        h ^= (SourceHi + BitRotate(DestinationHi, 17)) * 0xC2B2_AE3D_27D4_EB4FUL;
        h ^= ((ulong)SourcePort << 32 | (ulong)DestinationPort << 16 | Protocol) * K;
        h ^= h >> 33;
        h *= 0xFF51_AFD7_ED55_8CCDUL;
        h ^= h >> 33;
        h *= 0xC4CE_B9FE_1A85_EC53UL;
        h ^= h >> 33;
        return h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong BitRotate(ulong value, int offset) => (value << offset) | (value >> (64 - offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Equals(FlowKey other)
        => ((SourceLo ^ other.SourceLo) | (DestinationLo ^ other.DestinationLo) | (SourceHi ^ other.SourceHi)
            | (DestinationHi ^ other.DestinationHi)) == 0
           && SourcePort == other.SourcePort && DestinationPort == other.DestinationPort && Protocol == other.Protocol;

    public override readonly bool Equals(object? obj) => obj is FlowKey other && Equals(other);

    public override readonly int GetHashCode() => (int)Hash();

    public static bool operator ==(FlowKey left, FlowKey right) => left.Equals(right);

    public static bool operator !=(FlowKey left, FlowKey right) => !left.Equals(right);

    public override readonly string ToString()
        => $"{ProtocolName(Protocol)} {Source}:{SourcePort} > {Destination}:{DestinationPort}";

    internal static string ProtocolName(byte protocol) => protocol switch
    {
        IpProtocol.Tcp => "tcp",
        IpProtocol.Udp => "udp",
        IpProtocol.Icmp => "icmp",
        IpProtocol.Icmpv6 => "icmpv6",
        IpProtocol.Sctp => "sctp",
        _ => protocol.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
