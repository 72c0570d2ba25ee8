namespace Dataplane.Pipeline;

/// <summary>
/// Where a worker's output goes: TAP and raw-socket writes in the daemon, pcap files in replay, a list in
/// tests. A struct implementing it lets the JIT inline the call in <see cref="Graph.Flush{TSink}"/>.
/// </summary>
public interface ITransmitSink
{
    /// <summary>Writes one frame to one port; false when it could not be sent (counted as a TX error).</summary>
    bool Send(ushort port, ReadOnlySpan<byte> frame, in PacketMeta meta);
}
