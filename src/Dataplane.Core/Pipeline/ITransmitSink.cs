namespace Dataplane.Pipeline;

/// <summary>
/// Where a worker's output goes: TAP and raw-socket writes in the daemon, pcap files in replay, a list in
/// tests. A struct implementing it lets the JIT inline the call in <see cref="Graph.Flush{TSink}"/>.
/// </summary>
public interface ITransmitSink
{
    /// <summary>
    /// Writes packet <paramref name="packet"/> of <paramref name="batch"/> to one port; false when it could not
    /// be sent (counted as a TX error). The batch is passed, not just the bytes, so a sink can use the headroom
    /// in front of the frame (the daemon keeps the virtio-net header there).
    /// </summary>
    bool Send(ushort port, PacketBatch batch, ushort packet);
}
