using Dataplane.Packets;

namespace Dataplane.Pipeline;

/// <summary>
/// The dataplane's own addresses: the gateway (IP, IPv6, MAC) that pods see on their ports and the uplink's
/// addresses toward other nodes. Stages answer ARP/NDP/ping for these and source ICMP errors from them.
/// With a host port (<see cref="HasHostPort"/>) the uplink's addresses are the node kernel's too: what the dataplane
/// does not answer itself (ARP, ND, services) goes to the kernel, and toward the kernel the dataplane is the
/// link-local next hop <see cref="Model.HostPortConfig.NextHop4"/> / <see cref="Model.HostPortConfig.NextHop6"/>.
/// </summary>
public sealed record LocalAddresses(
    MacAddress GatewayMac,
    Ip4Address GatewayIp,
    Ip6Address? GatewayIp6,
    MacAddress UplinkMac,
    Ip4Address UplinkIp,
    Ip6Address? UplinkIp6,
    bool HasHostPort = false)
{
    /// <summary>
    /// Per port id: which of our addresses that port's side of the link talks to. Every id but the uplink's and the
    /// host port's is a pod's (or free, and then a pod's when one is added), so the array never changes after those
    /// two are in place.
    /// </summary>
    public LocalAddress[] PerPort(PortTable ports)
    {
        var result = new LocalAddress[ports.Capacity];
        for (int id = 0; id < result.Length; id++)
        {
            result[id] = id == ports.Uplink?.Id
                ? new LocalAddress(true, UplinkMac, UplinkIp, UplinkIp6 ?? default, UplinkIp6 is not null)
                : id == ports.Host?.Id
                    ? new LocalAddress(false, GatewayMac, Model.HostPortConfig.NextHop4, Model.HostPortConfig.NextHop6, true, IsHost: true)
                    : new LocalAddress(false, GatewayMac, GatewayIp, GatewayIp6 ?? default, GatewayIp6 is not null);
        }

        return result;
    }
}

/// <summary>Our MAC and addresses as seen from one port; <see cref="IsHost"/> for the host port (the node's kernel).</summary>
public readonly record struct LocalAddress(bool IsUplink, MacAddress Mac, Ip4Address Ip4, Ip6Address Ip6, bool HasIp6, bool IsHost = false);
