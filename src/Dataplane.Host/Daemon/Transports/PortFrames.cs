using System.Runtime.CompilerServices;
using Dataplane.Io.Tap;
using Dataplane.Pipeline;

namespace Dataplane.Daemon.Transports;

/// <summary>
/// What every transport does to a frame on its way in and out, whatever moved its bytes: the virtio-net header
/// that precedes frames when offloads are on (kept in the headroom, in front of the frame, so no copy is made)
/// and the copy for a running `ctl capture`.
/// </summary>
public static class PortFrames
{
    /// <summary>
    /// A frame was received into <paramref name="space"/> (its <paramref name="header"/> bytes of virtio-net
    /// header first) and committed as <paramref name="meta"/>: takes the offload flags from the header and offers
    /// the frame to the port's capture.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Received(ref PacketMeta meta, ReadOnlySpan<byte> space, int header, CaptureSession? capture, long now)
    {
        if (header > 0)
        {
            meta.Flags |= VirtioNetHeader.ReadPacketFlags(space);
        }

        capture?.Offer(meta.RxPort, space.Slice(header, meta.Length), now);
    }

    /// <summary>
    /// The bytes to write for packet <paramref name="packet"/> to a port with <paramref name="header"/> bytes of
    /// virtio-net header on port <paramref name="port"/>: the frame with its header in front. A frame that arrived offloaded keeps the header it
    /// came with (the receiver finishes the checksum or segments it); any other gets the "no offload" header.
    /// Offers the frame to the port's capture.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<byte> Outgoing(PacketBatch batch, ushort packet, ushort port, int header, CaptureSession? capture)
    {
        Span<byte> buffer = batch.FrameWithPrefix(packet, header);
        ref PacketMeta meta = ref batch.Meta(packet);
        if (header > 0 && (meta.Flags & PacketFlags.Offloaded) == 0)
        {
            VirtioNetHeader.WriteNone(buffer.Slice(0, header));
        }

        capture?.Offer(port, buffer.Slice(header), meta.Timestamp);
        return buffer;
    }
}
