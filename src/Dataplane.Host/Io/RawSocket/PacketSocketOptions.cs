namespace Dataplane.Io.RawSocket;

/// <summary>How <see cref="PacketSocket.Open"/> sets up the uplink socket.</summary>
public sealed record PacketSocketOptions
{
    public static PacketSocketOptions Default { get; } = new();

    /// <summary>
    /// PACKET_MR_PROMISC membership: receive frames for every MAC, not just the interface's own (the dataplane
    /// answers for pod MACs). The kernel drops the membership when the socket closes.
    /// </summary>
    public bool Promiscuous { get; init; } = true;

    /// <summary>
    /// PACKET_QDISC_BYPASS: transmit straight to the driver, skipping the interface's queueing discipline
    /// (faster; no traffic shaping, and a full driver queue drops instead of queueing).
    /// </summary>
    public bool QdiscBypass { get; init; }

    /// <summary>
    /// PACKET_VNET_HDR: every frame read or written is preceded by a 10-byte struct virtio_net_hdr, so the
    /// kernel hands us GRO'd super-frames with partial checksums and segments and checksums what we send:
    /// TAP offloads can cross the uplink without segmenting in userspace (see packet(7)).
    /// </summary>
    public bool VnetHeader { get; init; }

    /// <summary>SO_RCVBUF in bytes; 0 keeps the system default.</summary>
    public int ReceiveBufferSize { get; init; }

    /// <summary>SO_SNDBUF in bytes; 0 keeps the system default.</summary>
    public int SendBufferSize { get; init; }
}
