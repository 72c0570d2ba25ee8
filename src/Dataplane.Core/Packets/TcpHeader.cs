using System.Buffers.Binary;

namespace Dataplane.Packets;

/// <summary>TCP control bits (RFC 9293 §3.1).</summary>
[Flags]
public enum TcpFlags : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
    Urg = 0x20,
    Ece = 0x40,
    Cwr = 0x80,
}

/// <summary>
/// TCP header (RFC 9293 §3.1).
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          Source Port          |       Destination Port        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Sequence Number                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Acknowledgment Number                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Data |       |C|E|U|A|P|R|S|F|                               |
/// | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
/// |       |       |R|E|G|K|H|T|N|N|                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Checksum            |         Urgent Pointer        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Options (Data Offset - 5 words)            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public ref struct TcpHeader
{
    public const int MinSize = 20;
    public const int ChecksumOffset = 16;
    private const int DestinationPortOffset = 2;
    private const int SequenceOffset = 4;
    private const int AcknowledgmentOffset = 8;
    private const int DataOffsetOffset = 12;
    public const int FlagsOffset = 13;
    private const int WindowOffset = 14;

    private readonly Span<byte> _data;

    private TcpHeader(Span<byte> data) => _data = data;

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

    public readonly uint SequenceNumber => BinaryPrimitives.ReadUInt32BigEndian(_data.Slice(SequenceOffset));

    public readonly uint AcknowledgmentNumber => BinaryPrimitives.ReadUInt32BigEndian(_data.Slice(AcknowledgmentOffset));

    public readonly int HeaderLength => (_data[DataOffsetOffset] >> 4) * 4;

    public readonly TcpFlags Flags => (TcpFlags)_data[FlagsOffset];

    public readonly ushort Window => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(WindowOffset));

    public ushort Checksum
    {
        readonly get => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(ChecksumOffset));
        set => BinaryPrimitives.WriteUInt16BigEndian(_data.Slice(ChecksumOffset), value);
    }

    /// <summary>The segment: header, options and data.</summary>
    public readonly Span<byte> Segment => _data;

    public readonly Span<byte> Payload => _data.Slice(HeaderLength);

    /// <summary>Fails when fewer than 20 bytes remain or Data Offset is below 5 or beyond the segment.</summary>
    public static bool TryParse(Span<byte> segment, out TcpHeader tcp)
    {
        tcp = default;
        if (segment.Length < MinSize)
        {
            return false;
        }

        int headerLength = (segment[DataOffsetOffset] >> 4) * 4;
        if (headerLength < MinSize || headerLength > segment.Length)
        {
            return false;
        }

        tcp = new TcpHeader(segment);
        return true;
    }
}
