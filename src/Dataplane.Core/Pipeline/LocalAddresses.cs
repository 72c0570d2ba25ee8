using Dataplane.Packets;

namespace Dataplane.Pipeline;

/// <summary>
/// The dataplane's own addresses: the gateway (IP, IPv6, MAC) that pods see on their ports and the uplink's
/// addresses toward other nodes. Stages answer ARP/NDP/ping for these and source ICMP errors from them.
/// </summary>
public sealed record LocalAddresses(
    MacAddress GatewayMac,
    Ip4Address GatewayIp,
    Ip6Address? GatewayIp6,
    MacAddress UplinkMac,
    Ip4Address UplinkIp,
    Ip6Address? UplinkIp6)
{
    /// <summary>Per port id: which of our addresses that port's side of the link talks to.</summary>
    public LocalAddress[] PerPort(IReadOnlyList<Port> ports)
    {
        var result = new LocalAddress[ports.Count];
        foreach (Port port in ports)
        {
            result[port.Id] = port.Kind == PortKind.Uplink
                ? new LocalAddress(true, UplinkMac, UplinkIp, UplinkIp6 ?? default, UplinkIp6 is not null)
                : new LocalAddress(false, GatewayMac, GatewayIp, GatewayIp6 ?? default, GatewayIp6 is not null);
        }

        return result;
    }
}

/// <summary>Our MAC and addresses as seen from one port.</summary>
public readonly record struct LocalAddress(bool IsUplink, MacAddress Mac, Ip4Address Ip4, Ip6Address Ip6, bool HasIp6);
