using System.Buffers.Binary;

namespace Dataplane.Packets;

/// <summary>
/// UDP header (RFC 768).
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          Source Port          |       Destination Port        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |            Length             |           Checksum            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// A zero checksum means "none" over IPv4 and is invalid over IPv6 (RFC 8200 §8.1).
/// </summary>
public ref struct UdpHeader
{
    public const int Size = 8;
    public const int ChecksumOffset = 6;
    public const int SourcePortOffset = 0;
    public const int DestinationPortOffset = 2;
    private const int LengthOffset = 4;

    private readonly Span<byte> _data;

    private UdpHeader(Span<byte> data) => _data = data;

    public ushort SourcePort
    {
        readonly get => BinaryPrimitives.ReadUInt16BigEndian(_data);
        set => BinaryPrimitives.WriteUInt16BigEndian(_data, value);
    }

    public ushort DestinationPort
    {
        readonly get => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(DestinationPortOffset));
        set => BinaryPrimitives.WriteUInt16BigEndian(_data.Slice(DestinationPortOffset), value);
    }

    public readonly ushort Length => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(LengthOffset));

    public ushort Checksum
    {
        readonly get => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(ChecksumOffset));
        set => BinaryPrimitives.WriteUInt16BigEndian(_data.Slice(ChecksumOffset), value);
    }

    public readonly Span<byte> Datagram => _data;

    public readonly Span<byte> Payload => _data.Slice(Size);

    /// <summary>Fails when fewer than 8 bytes remain or the Length field is below 8 or beyond the data.</summary>
    public static bool TryParse(Span<byte> data, out UdpHeader udp)
    {
        udp = default;
        if (data.Length < Size)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(LengthOffset));
        if (length < Size || length > data.Length)
        {
            return false;
        }

        udp = new UdpHeader(data.Slice(0, length));
        return true;
    }
}
