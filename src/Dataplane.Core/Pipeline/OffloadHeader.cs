using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Dataplane.Pipeline;

/// <summary>
/// The fields of the virtio-net header (struct virtio_net_hdr, linux/virtio_net.h) a stage needs when it must finish
/// an offload itself: the daemon's transports keep the header a frame arrived with in the headroom right in front of
/// it (<see cref="PacketBatch.FrameWithPrefix"/>), and only frames flagged <see cref="PacketFlags.Offloaded"/> have
/// one. Fields are little-endian; the host side's full view is Dataplane.Io.Tap.VirtioNetHeader.
/// <code>
///  | flags | gso_type | hdr_len (2) | gso_size (2) | csum_start (2) | csum_offset (2) |
/// </code>
/// </summary>
public static class OffloadHeader
{
    /// <summary>The 10-byte header every port of the daemon uses (PortDevice.VirtioHeaderSize).</summary>
    public const int Size = 10;

    public const byte FlagNeedsCsum = 1;
    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;
    public const byte GsoUdp = 3;
    public const byte GsoTcpV6 = 4;
    public const byte GsoUdpL4 = 5;
    public const byte GsoEcn = 0x80;

    private const int GsoTypeOffset = 1;
    private const int GsoSizeOffset = 4;
    private const int CsumStartOffset = 6;
    private const int CsumOffsetOffset = 8;

    /// <summary>The header in front of packet <paramref name="packet"/>'s frame (its first <see cref="Size"/> bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> Of(PacketBatch batch, int packet) => batch.FrameWithPrefix(packet, Size);

    public static bool NeedsChecksum(ReadOnlySpan<byte> header) => (header[0] & FlagNeedsCsum) != 0;

    /// <summary>The GSO type without the ECN modifier (GsoNone when the frame is not a super-frame).</summary>
    public static byte GsoType(ReadOnlySpan<byte> header) => (byte)(header[GsoTypeOffset] & ~GsoEcn);

    /// <summary>Payload bytes per segment (the MSS for TCP).</summary>
    public static int GsoSize(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt16LittleEndian(header.Slice(GsoSizeOffset));

    /// <summary>Where the partial checksum's coverage starts, from the frame's start.</summary>
    public static int CsumStart(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt16LittleEndian(header.Slice(CsumStartOffset));

    /// <summary>Where the checksum field is, from <see cref="CsumStart"/>.</summary>
    public static int CsumOffset(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt16LittleEndian(header.Slice(CsumOffsetOffset));

    /// <summary>
    /// Finishes a partial checksum in software, as skb_checksum_help does: the field holds the pseudo-header sum, so
    /// the one's complement sum from csum_start to the end of <paramref name="frame"/> is the checksum (0 sent as
    /// 0xFFFF). False when the header points outside the frame.
    /// </summary>
    public static bool TryCompleteChecksum(ReadOnlySpan<byte> header, Span<byte> frame)
    {
        int start = CsumStart(header);
        int field = start + CsumOffset(header);
        if (start >= frame.Length || field + 2 > frame.Length)
        {
            return false;
        }

        ushort checksum = Packets.InternetChecksum.Finish(Packets.InternetChecksum.Sum(frame.Slice(start)));
        BinaryPrimitives.WriteUInt16BigEndian(frame.Slice(field), checksum == 0 ? (ushort)0xFFFF : checksum);
        return true;
    }
}
