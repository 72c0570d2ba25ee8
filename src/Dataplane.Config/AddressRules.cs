using Dataplane.Packets;

namespace Dataplane.Config;

/// <summary>Prefix arithmetic the validation needs and <see cref="IpPrefix"/> has no reason to carry.</summary>
internal static class AddressRules
{
    /// <summary>Two prefixes of one family overlap exactly when one contains the other's network address.</summary>
    public static bool Overlaps(IpPrefix a, IpPrefix b) => a.IsV4 == b.IsV4 && (a.Contains(b.Address) || b.Contains(a.Address));

    /// <summary>The prefix an interface address sits in (<c>192.168.77.10/24</c> gives <c>192.168.77.0/24</c>).</summary>
    public static IpPrefix SubnetOf(IpAddress address, int length)
    {
        if (address.IsV4)
        {
            uint mask = length == 0 ? 0 : uint.MaxValue << (32 - length);
            return new IpPrefix(new Ip4Address(address.V4.Value & mask), length);
        }

        UInt128 mask6 = length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);
        UInt128 bits = address.V6.ToUInt128() & mask6;
        return new IpPrefix(new Ip6Address((ulong)(bits >> 64), (ulong)bits), length);
    }

    /// <summary>The IPv4 directed broadcast address of <paramref name="prefix"/> (all host bits set).</summary>
    public static Ip4Address Broadcast(IpPrefix prefix)
    {
        uint hostMask = prefix.Length == 32 ? 0 : uint.MaxValue >> prefix.Length;
        return new Ip4Address(prefix.Address.V4.Value | hostMask);
    }

    /// <summary>
    /// True for the addresses a host may not take in an IPv4 subnet: the network and broadcast addresses. /31 and
    /// /32 have neither (RFC 3021), so nothing is reserved there.
    /// </summary>
    public static bool IsReservedV4(IpPrefix prefix, Ip4Address address)
        => prefix.Length <= 30 && (address == prefix.Address.V4 || address == Broadcast(prefix));
}
