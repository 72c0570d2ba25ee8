using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Dataplane.Pipeline;

namespace Dataplane.Io.Tap;

/// <summary>
/// The virtio-net header that precedes each frame on a TAP opened with IFF_VNET_HDR (linux/virtio_net.h).
/// Fields are little-endian (virtio 1.0, and legacy headers on little-endian hosts).
/// <code>
///  0               1               2               3
///  +---------------+---------------+-------------------------------+
///  |     flags     |   gso_type    |            hdr_len            |
///  +---------------+---------------+-------------------------------+
///  |           gso_size            |          csum_start           |
///  +-------------------------------+-------------------------------+
///  |          csum_offset          |  num_buffers (12-byte form)   |
///  +-------------------------------+-------------------------------+
/// </code>
/// </summary>
public struct VirtioNetHeader
{
    /// <summary>sizeof(struct virtio_net_hdr_v1) == sizeof(struct virtio_net_hdr_mrg_rxbuf): what we set by default.</summary>
    public const int Size = 12;

    /// <summary>sizeof(struct virtio_net_hdr): the legacy header and the kernel's default.</summary>
    public const int LegacySize = 10;

    public const int FlagsOffset = 0;
    public const int GsoTypeOffset = 1;
    public const int HdrLenOffset = 2;
    public const int GsoSizeOffset = 4;
    public const int CsumStartOffset = 6;
    public const int CsumOffsetOffset = 8;
    public const int NumBuffersOffset = 10;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: the L4 checksum is partial; finish it from CsumStart, store at CsumStart + CsumOffset.</summary>
    public const byte FlagNeedsCsum = Interop.Libc.VIRTIO_NET_HDR_F_NEEDS_CSUM;
    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the checksum is already known to be good.</summary>
    public const byte FlagDataValid = Interop.Libc.VIRTIO_NET_HDR_F_DATA_VALID;

    public const byte GsoNone = Interop.Libc.VIRTIO_NET_HDR_GSO_NONE;
    public const byte GsoTcpV4 = Interop.Libc.VIRTIO_NET_HDR_GSO_TCPV4;
    public const byte GsoUdp = Interop.Libc.VIRTIO_NET_HDR_GSO_UDP;
    public const byte GsoTcpV6 = Interop.Libc.VIRTIO_NET_HDR_GSO_TCPV6;
    public const byte GsoUdpL4 = Interop.Libc.VIRTIO_NET_HDR_GSO_UDP_L4;
    public const byte GsoEcn = Interop.Libc.VIRTIO_NET_HDR_GSO_ECN;

    public byte Flags { get; set; }
    public byte GsoType { get; set; }
    public ushort HdrLen { get; set; }
    public ushort GsoSize { get; set; }
    public ushort CsumStart { get; set; }
    public ushort CsumOffset { get; set; }
    /// <summary>Only in the 12-byte form; TAP ignores it on write and does not report anything useful on read.</summary>
    public ushort NumBuffers { get; set; }

    /// <summary>A header for a plain frame: no checksum work, no segmentation (all zero).</summary>
    public static VirtioNetHeader None => default;

    public readonly bool NeedsChecksum => (Flags & FlagNeedsCsum) != 0;

    /// <summary>
    /// The frame is a GSO super-frame to be segmented. GSO_ECN is a modifier of the TCP types (segments keep CWR),
    /// never a type: the kernel rejects a header whose gso_type is ECN alone (virtio_net_hdr_to_skb), so it does
    /// not count.
    /// </summary>
    public readonly bool IsGso => (GsoType & ~GsoEcn) != GsoNone;

    /// <summary>
    /// What a received header tells the pipeline: a partial checksum (<see cref="PacketFlags.ChecksumPartial"/>,
    /// so NAT updates the pseudo-header sum, not a checksum) and, with GSO too, that the frame must leave with its
    /// header (<see cref="PacketFlags.Offloaded"/>: it may exceed the MTU and the receiver finishes the work).
    /// </summary>
    public readonly PacketFlags ToPacketFlags()
    {
        PacketFlags flags = NeedsChecksum ? PacketFlags.ChecksumPartial | PacketFlags.Offloaded : PacketFlags.None;
        return IsGso ? flags | PacketFlags.Offloaded : flags;
    }

    /// <summary>
    /// <see cref="ToPacketFlags"/> of the header at the start of <paramref name="source"/>, reading only the two
    /// bytes it needs (per received frame). The caller has checked that a whole header is there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PacketFlags ReadPacketFlags(ReadOnlySpan<byte> source) =>
        new VirtioNetHeader { Flags = source[FlagsOffset], GsoType = source[GsoTypeOffset] }.ToPacketFlags();

    /// <summary>
    /// Writes <see cref="None"/> over the whole of <paramref name="destination"/> (a 10- or 12-byte header slot):
    /// for a frame the pipeline built, or one that arrived without offload, whose headroom holds no header of its own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteNone(Span<byte> destination) => destination.Clear();

    /// <summary>Reads a header of <paramref name="size"/> (10 or 12) bytes; false if the input is shorter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryRead(ReadOnlySpan<byte> source, int size, out VirtioNetHeader header)
    {
        header = default;
        if (source.Length < size || size < LegacySize)
        {
            return false;
        }

        header.Flags = source[FlagsOffset];
        header.GsoType = source[GsoTypeOffset];
        header.HdrLen = BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(HdrLenOffset));
        header.GsoSize = BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(GsoSizeOffset));
        header.CsumStart = BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(CsumStartOffset));
        header.CsumOffset = BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(CsumOffsetOffset));
        header.NumBuffers = size >= Size ? BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(NumBuffersOffset)) : (ushort)0;
        return true;
    }

    /// <summary>Writes the header as <paramref name="size"/> (10 or 12) bytes; false if the destination is shorter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool TryWrite(Span<byte> destination, int size)
    {
        if (destination.Length < size || size < LegacySize)
        {
            return false;
        }

        destination[FlagsOffset] = Flags;
        destination[GsoTypeOffset] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(HdrLenOffset), HdrLen);
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(GsoSizeOffset), GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(CsumStartOffset), CsumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(CsumOffsetOffset), CsumOffset);
        if (size >= Size)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(NumBuffersOffset), NumBuffers);
        }

        return true;
    }
}
