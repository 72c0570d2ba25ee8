using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Dataplane.Pipeline;

/// <summary>
/// Several frames one packet carries to its port (a super-frame segmented in software: vxlan-encap's TCP
/// segmentation), laid out in the packet's own slot one after another, each with <see cref="Gap"/> bytes in front.
/// The packet's <see cref="PacketMeta.Offset"/> and <see cref="PacketMeta.Length"/> are the first frame's; each
/// frame's gap starts with its length and how many frames follow it, and leaves its last 12 bytes for the virtio-net
/// header a transport writes in front of a frame. <see cref="Graph.Flush{TSink}"/> sends the frames one by one, so
/// every transport, capture and replay sink sees ordinary frames; nothing is allocated and the batch needs no more
/// packets than it has.
/// <code>
///  | len | left | (vnet hdr) | frame 0 ...     | len | left | (vnet hdr) | frame 1 ...     | ...
///  ^ Offset - Gap             ^ Offset          ^ Offset + Length
/// </code>
/// </summary>
public static class SegmentTrain
{
    /// <summary>Room in front of each frame: 2 bytes length, 2 bytes frames left, 12 for a virtio-net header.</summary>
    public const int Gap = 16;

    private const int LengthAt = -Gap;
    private const int LeftAt = -Gap + 2;

    /// <summary>Notes, in the gap in front of the frame at <paramref name="frameStart"/> of <paramref name="slot"/>, its length and how many frames follow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Mark(Span<byte> slot, int frameStart, int length, int left)
    {
        BinaryPrimitives.WriteUInt16BigEndian(slot.Slice(frameStart + LengthAt), (ushort)length);
        BinaryPrimitives.WriteUInt16BigEndian(slot.Slice(frameStart + LeftAt), (ushort)left);
    }

    /// <summary>
    /// After the frame at <paramref name="offset"/> of <paramref name="length"/>: false when it was the last, else the
    /// next frame's place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Next(ReadOnlySpan<byte> slot, ref int offset, ref int length)
    {
        if (BinaryPrimitives.ReadUInt16BigEndian(slot.Slice(offset + LeftAt)) == 0)
        {
            return false;
        }

        offset += length + Gap;
        length = BinaryPrimitives.ReadUInt16BigEndian(slot.Slice(offset + LengthAt));
        return true;
    }
}
