using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Model;
using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// The key of the service table: a VIP (IPv4 kept v4-mapped, so both families share one 128-bit form), an L4
/// protocol and a port, in host order like <see cref="IpAddress"/>. 24 bytes: two address words and one word for
/// port and protocol, so equality is three compares and hashing is one mix.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct ServiceKey : IEquatable<ServiceKey>
{
    private const ulong V4MappedLo = 0x0000_FFFF_0000_0000;

    private readonly ulong _hi;
    private readonly ulong _lo;
    private readonly uint _portProtocol; // port << 8 | protocol

    public ServiceKey(Ip6Address vip, L4Protocol protocol, ushort port)
    {
        _hi = vip.Hi;
        _lo = vip.Lo;
        _portProtocol = (uint)port << 8 | (byte)protocol;
    }

    /// <summary>The IPv4 packet path's constructor: no <see cref="IpAddress"/> round trip.</summary>
    public ServiceKey(Ip4Address vip, L4Protocol protocol, ushort port)
    {
        _hi = 0;
        _lo = V4MappedLo | vip.Value;
        _portProtocol = (uint)port << 8 | (byte)protocol;
    }

    public ServiceKey(in IpAddress vip, L4Protocol protocol, ushort port)
        : this(vip.Bits, protocol, port)
    {
    }

    public IpAddress Vip => new(new Ip6Address(_hi, _lo));

    public L4Protocol Protocol => (L4Protocol)(byte)_portProtocol;

    public ushort Port => (ushort)(_portProtocol >> 8);

    /// <summary>
    /// A well-mixed 64-bit hash. Cluster VIPs differ mostly in their low bits (10.96.x.y), so the words are spread by
    /// odd multipliers before the finalizer, and the table indexes with the low bits of the result.
    /// </summary>
    internal ulong Hash
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => StableHash.Mix(_lo + _hi * 0x9E37_79B9_7F4A_7C15UL + _portProtocol * 0xD6E8_FEB8_6659_FD93UL);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(ServiceKey other)
        => ((_hi ^ other._hi) | (_lo ^ other._lo) | (_portProtocol ^ other._portProtocol)) == 0;

    public override bool Equals(object? obj) => obj is ServiceKey other && Equals(other);

    public override int GetHashCode() => (int)Hash;

    public static bool operator ==(ServiceKey left, ServiceKey right) => left.Equals(right);

    public static bool operator !=(ServiceKey left, ServiceKey right) => !left.Equals(right);

    public override string ToString()
    {
        IpAddress vip = Vip;
        string protocol = Protocol switch
        {
            L4Protocol.Tcp => "tcp",
            L4Protocol.Udp => "udp",
            L4Protocol.Sctp => "sctp",
            _ => ((byte)Protocol).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return vip.IsV4 ? $"{vip}:{Port}/{protocol}" : $"[{vip}]:{Port}/{protocol}";
    }
}
