using System.Net;
using System.Net.Sockets;

namespace Dataplane.Packets;

/// <summary>
/// Either an IPv4 or an IPv6 address, for the control plane (config, routes, endpoints) where one field may
/// hold either. IPv4 is kept as <c>::ffff:a.b.c.d</c> (RFC 4291 2.5.5.2) so both families share one 128-bit key.
/// </summary>
public readonly record struct IpAddress
{
    private const ulong V4MappedLo = 0x0000_FFFF_0000_0000;

    public IpAddress(Ip4Address v4) => Bits = new Ip6Address(0, V4MappedLo | v4.Value);

    public IpAddress(Ip6Address v6) => Bits = v6;

    /// <summary>The 128 bits, IPv4-mapped for IPv4.</summary>
    public Ip6Address Bits { get; }

    public bool IsV4 => Bits.Hi == 0 && (Bits.Lo & 0xFFFF_FFFF_0000_0000) == V4MappedLo;

    public Ip4Address V4 => IsV4 ? new Ip4Address((uint)Bits.Lo) : throw new InvalidOperationException($"{this} is not IPv4");

    public Ip6Address V6 => Bits;

    public static implicit operator IpAddress(Ip4Address v4) => new(v4);

    public static implicit operator IpAddress(Ip6Address v6) => new(v6);

    public static bool TryParse(string? text, out IpAddress address)
    {
        if (Ip4Address.TryParse(text, out Ip4Address v4))
        {
            address = v4;
            return true;
        }

        if (text is not null && text.Contains(':', StringComparison.Ordinal) && Ip6Address.TryParse(text, out Ip6Address v6))
        {
            address = v6;
            return true;
        }

        address = default;
        return false;
    }

    public static IpAddress Parse(string text)
        => TryParse(text, out IpAddress a) ? a : throw new FormatException($"'{text}' is not an IP address");

    public static IpAddress FromIPAddress(IPAddress ip) => ip.AddressFamily == AddressFamily.InterNetwork
        ? Ip4Address.FromIPAddress(ip)
        : Ip6Address.FromIPAddress(ip);

    public IPAddress ToIPAddress() => IsV4 ? V4.ToIPAddress() : V6.ToIPAddress();

    public override string ToString() => IsV4 ? V4.ToString() : V6.ToString();
}
