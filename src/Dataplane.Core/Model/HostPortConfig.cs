using Dataplane.Packets;

namespace Dataplane.Model;

/// <summary>
/// The <c>node.hostPort:</c> section: a TAP in the node's namespace through which the node's own kernel (kubelet,
/// sshd, hostNetwork pods) sends and receives at L3, as Calico/VPP's host tap does. The kernel side carries the
/// uplink's addresses (/32, /128) and a default route via <see cref="NextHop4"/> (<see cref="NextHop6"/>) on-link,
/// which the dataplane answers for with proxy ARP / NA; frames for the node's addresses that the dataplane does not
/// serve itself go to it.
/// </summary>
/// <param name="Name">The TAP's interface name in the node's namespace, also the port's name.</param>
/// <param name="Mac">The kernel side's MAC (the TAP's), where the dataplane sends the node's frames.</param>
public sealed record HostPortConfig(string Name, MacAddress Mac)
{
    public const string DefaultName = "dp-host";

    /// <summary>The kernel's IPv4 next hop: a link-local address nobody else has (Calico's choice).</summary>
    public static Ip4Address NextHop4 { get; } = new(0xA9FE_0101); // 169.254.1.1

    /// <summary>The kernel's IPv6 next hop (link-local, so no global address is spent on it).</summary>
    public static Ip6Address NextHop6 { get; } = new(0xFE80_0000_0000_0000, 1);

    /// <summary>The default kernel-side MAC: <c>0a:58:</c> and the node's IPv4 address, as pods get theirs (OVN-Kubernetes' scheme).</summary>
    public static MacAddress DefaultMac(Ip4Address nodeIp) => new((0x0A58UL << 32) | nodeIp.Value);
}
