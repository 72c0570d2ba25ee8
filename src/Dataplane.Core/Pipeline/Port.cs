using Dataplane.Packets;

namespace Dataplane.Pipeline;

public enum PortKind : byte
{
    /// <summary>A pod's TAP: part of the node's L2 domain, bound to one MAC and IP (anti-spoofing).</summary>
    Pod,

    /// <summary>The raw-socket port toward other nodes: L3 only, never flooded to.</summary>
    Uplink,

    /// <summary>
    /// The node's own kernel (node.hostPort): a TAP in the node's namespace, L3 only, never flooded to, bound to
    /// the node's addresses like a pod to its own.
    /// </summary>
    Host,
}

/// <summary>
/// One port of the dataplane. For a pod, <see cref="Mac"/>/<see cref="Ip4"/>/<see cref="Ip6"/> are the pod's
/// own (what it may send from); for the uplink they are the dataplane's addresses on that link.
/// </summary>
public sealed class Port(ushort id, string name, PortKind kind, MacAddress mac, Ip4Address ip4, Ip6Address? ip6, int mtu, Ip6Address? linkLocal = null)
{
    public ushort Id { get; } = id;

    public string Name { get; } = name;

    public PortKind Kind { get; } = kind;

    public MacAddress Mac { get; } = mac;

    public Ip4Address Ip4 { get; } = ip4;

    public Ip6Address? Ip6 { get; } = ip6;

    /// <summary>Largest L3 datagram this port sends without fragmenting.</summary>
    public int Mtu { get; } = mtu;

    /// <summary>fe80::/64 with the MAC as a modified EUI-64 interface id (RFC 4291 appendix A): what Linux derives by default.</summary>
    public Ip6Address Eui64LinkLocal { get; } = DeriveLinkLocal(mac);

    /// <summary>
    /// The link-local address the pod's interface really has, when it is not <see cref="Eui64LinkLocal"/>: an
    /// interface with <c>addr_gen_mode</c> stable_privacy (RFC 7217) or random derives it from a secret, so the
    /// daemon reads it from the pod's namespace after bringing the interface up.
    /// </summary>
    public Ip6Address LinkLocal { get; } = linkLocal ?? DeriveLinkLocal(mac);

    public override string ToString() => $"{Name} (port {Id}, {Kind})";

    private static Ip6Address DeriveLinkLocal(MacAddress mac)
    {
        ulong m = mac.Value;
        ulong interfaceId = ((((m >> 24) & 0xFFFFFF) ^ 0x020000) << 40) | (0xFFFEUL << 24) | (m & 0xFFFFFF);
        return new Ip6Address(0xFE80_0000_0000_0000, interfaceId);
    }
}
