namespace Dataplane.Io.Tap;

/// <summary>Offloads the kernel may leave to us (TUNSETOFFLOAD). Each needs <see cref="TapOptions.VnetHeader"/>.</summary>
[Flags]
public enum TapOffloads : uint
{
    None = 0,
    /// <summary>TUN_F_CSUM: frames may carry a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM). Required by every other flag.</summary>
    Checksum = Interop.Libc.TUN_F_CSUM,
    /// <summary>TUN_F_TSO4: TCP/IPv4 super-frames (up to 64 KiB) with gso_type TCPV4.</summary>
    Tso4 = Interop.Libc.TUN_F_TSO4,
    /// <summary>TUN_F_TSO6: TCP/IPv6 super-frames.</summary>
    Tso6 = Interop.Libc.TUN_F_TSO6,
    /// <summary>TUN_F_TSO_ECN: TSO frames with CWR set.</summary>
    TsoEcn = Interop.Libc.TUN_F_TSO_ECN,
    /// <summary>TUN_F_UFO: UDP fragmentation offload (deprecated by the kernel, accepted for compatibility).</summary>
    Ufo = Interop.Libc.TUN_F_UFO,
    /// <summary>TUN_F_USO4: UDP segmentation offload, IPv4 (Linux 6.2+).</summary>
    Uso4 = Interop.Libc.TUN_F_USO4,
    /// <summary>TUN_F_USO6: UDP segmentation offload, IPv6 (Linux 6.2+).</summary>
    Uso6 = Interop.Libc.TUN_F_USO6,
}

/// <summary>How <see cref="TapDevice.Create"/> sets up the TAP.</summary>
public sealed record TapOptions
{
    public static TapOptions Default { get; } = new();

    /// <summary>
    /// IFF_VNET_HDR: every frame read from or written to the fd is preceded by a virtio-net header of
    /// <see cref="VnetHeaderSize"/> bytes (see <see cref="VirtioNetHeader"/>).
    /// </summary>
    public bool VnetHeader { get; init; }

    /// <summary>
    /// The header size set with TUNSETVNETHDRSZ when <see cref="VnetHeader"/> is on: 12 (the default) or 10.
    /// 12 is virtio 1.0's header (struct virtio_net_hdr_v1: num_buffers is always present), the layout
    /// vhost-net and QEMU negotiate, so frames can move between the TAP and a virtio/vhost-user backend
    /// without re-framing; 10 is the legacy struct virtio_net_hdr and what the kernel uses when the size is
    /// never set. The kernel fills the first 10 bytes; on reads it zeroes (recent kernels) or skips (older
    /// kernels) num_buffers, and on writes it ignores it.
    /// </summary>
    public int VnetHeaderSize { get; init; } = VirtioNetHeader.Size;

    /// <summary>TUNSETOFFLOAD flags; anything but <see cref="TapOffloads.None"/> needs <see cref="VnetHeader"/>.</summary>
    public TapOffloads Offloads { get; init; }

    /// <summary>
    /// TUNSETPERSIST: the device outlives the fd, so a daemon that stops or dies leaves the pod its eth0 (addresses,
    /// routes, neighbours) and the next one attaches to it (<see cref="TapDevice.Attach"/>). Removed only by
    /// <see cref="TapDevice.Remove"/>, or with its namespace.
    /// </summary>
    public bool Persistent { get; init; }
}
