using Dataplane.Packets;

namespace Dataplane.Pipeline;

public enum PortKind : byte
{
    /// <summary>A pod's TAP: part of the node's L2 domain, bound to one MAC and IP (anti-spoofing).</summary>
    Pod,

    /// <summary>The raw-socket port toward other nodes: L3 only, never flooded to.</summary>
    Uplink,
}

/// <summary>
/// One port of the dataplane. For a pod, <see cref="Mac"/>/<see cref="Ip4"/>/<see cref="Ip6"/> are the pod's
/// own (what it may send from); for the uplink they are the dataplane's addresses on that link.
/// </summary>
public sealed class Port(ushort id, string name, PortKind kind, MacAddress mac, Ip4Address ip4, Ip6Address? ip6, int mtu)
{
    public ushort Id { get; } = id;

    public string Name { get; } = name;

    public PortKind Kind { get; } = kind;

    public MacAddress Mac { get; } = mac;

    public Ip4Address Ip4 { get; } = ip4;

    public Ip6Address? Ip6 { get; } = ip6;

    /// <summary>Largest L3 datagram this port sends without fragmenting.</summary>
    public int Mtu { get; } = mtu;

    public override string ToString() => $"{Name} (port {Id}, {Kind})";
}
