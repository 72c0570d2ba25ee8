using Dataplane.Packets;

namespace Dataplane.Config;

/// <summary>Prefix arithmetic the validation needs and <see cref="IpPrefix"/> has no reason to carry.</summary>
internal static class AddressRules
{
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
