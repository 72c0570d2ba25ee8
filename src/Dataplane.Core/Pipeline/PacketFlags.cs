namespace Dataplane.Pipeline;

/// <summary>Facts about a packet that one stage learns and a later stage needs.</summary>
[Flags]
public enum PacketFlags : ushort
{
    None = 0,

    /// <summary>Stages append trace records for this packet.</summary>
    Traced = 1 << 0,

    /// <summary>The L3 header is IPv4 (else IPv6 when <see cref="Ip6"/>; neither for ARP).</summary>
    Ip4 = 1 << 1,

    Ip6 = 1 << 2,

    Arp = 1 << 3,

    /// <summary>A fragment other than the first: no L4 header (L4Offset is 0).</summary>
    LaterFragment = 1 << 4,

    /// <summary>Any fragment, first included.</summary>
    Fragment = 1 << 5,

    /// <summary>ICMPv6 Neighbor Discovery (RS/RA/NS/NA/Redirect): handled by the ndp stage.</summary>
    NeighborDiscovery = 1 << 6,

    /// <summary>Ethernet destination is a group address (broadcast or multicast).</summary>
    L2Multicast = 1 << 7,

    /// <summary>The frame carries a virtio-net header with GSO or checksum offload (TAP offloads).</summary>
    Offloaded = 1 << 8,

    /// <summary>Conntrack rewrote this packet's addresses or ports.</summary>
    Natted = 1 << 9,

    /// <summary>
    /// The L4 checksum is left for the receiver's offload to finish (virtio CHECKSUM_PARTIAL): the field holds
    /// the folded pseudo-header sum, not a checksum, and is updated as such.
    /// </summary>
    ChecksumPartial = 1 << 10,

    /// <summary>Made by a stage (<see cref="Graph.TryOriginate"/>), not received: no RX port, starts at that stage.</summary>
    Originated = 1 << 11,

    /// <summary>The packet carries several frames back to back in its slot (<see cref="SegmentTrain"/>): Flush sends each.</summary>
    Train = 1 << 12,

    /// <summary>
    /// Arrived inside a VXLAN packet (vxlan-input stripped it): what the dataplane answers itself (ip-local's echo
    /// replies) goes back through vxlan-encap, since the asker is a pod behind a VTEP, not a host on the uplink.
    /// </summary>
    Decapsulated = 1 << 13,
}
