using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Dataplane.Packets;

public enum Ipv6Parse : byte
{
    Ok,
    Truncated,
    NotVersion6,
    PayloadLengthBeyondData,
    /// <summary>Jumbograms (payload length 0 with a hop-by-hop jumbo option, RFC 2675) are not supported.</summary>
    JumboPayload,
}

public enum Ipv6ExtensionWalk : byte
{
    Ok,
    Truncated,
    /// <summary>More extension headers than we are willing to walk (RFC 8504 §5.3 lets nodes set a limit).</summary>
    TooManyHeaders,
    /// <summary>A non-first fragment: no upper-layer header follows.</summary>
    LaterFragment,
    /// <summary>Next header 59 or an encrypted payload (ESP): nothing to look at.</summary>
    NoUpperLayer,
}

/// <summary>
/// IPv6 fixed header (RFC 8200 §3) and the walk over extension headers (§4) to the upper-layer header.
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Traffic Class |           Flow Label                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Payload Length        |  Next Header  |   Hop Limit   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                     Source Address (128 bits)                 +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                  Destination Address (128 bits)               +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// The view spans the fixed header plus Payload Length bytes; Ethernet padding is not part of it.
/// </summary>
public ref struct Ipv6Header
{
    public const int Size = 40;
    public const int MaxExtensionHeaders = 8;
    private const int PayloadLengthOffset = 4;
    private const int NextHeaderOffset = 6;
    private const int HopLimitOffset = 7;
    public const int SourceOffset = 8;
    public const int DestinationOffset = 24;

    private readonly Span<byte> _data;

    private Ipv6Header(Span<byte> data) => _data = data;

    public readonly Span<byte> Datagram => _data;

    public readonly ushort PayloadLength => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(PayloadLengthOffset));

    public readonly byte NextHeader => _data[NextHeaderOffset];

    public byte HopLimit
    {
        readonly get => _data[HopLimitOffset];
        set => _data[HopLimitOffset] = value;
    }

    public Ip6Address Source
    {
        readonly get => Ip6Address.Read(_data.Slice(SourceOffset));
        set => value.Write(_data.Slice(SourceOffset));
    }

    public Ip6Address Destination
    {
        readonly get => Ip6Address.Read(_data.Slice(DestinationOffset));
        set => value.Write(_data.Slice(DestinationOffset));
    }

    public readonly Span<byte> Payload => _data.Slice(Size);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Ipv6Parse TryParse(Span<byte> data, out Ipv6Header header)
    {
        header = default;
        if (data.Length < Size)
        {
            return Ipv6Parse.Truncated;
        }

        if ((data[0] >> 4) != 6)
        {
            return Ipv6Parse.NotVersion6;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(PayloadLengthOffset));
        if (payloadLength == 0 && data[NextHeaderOffset] == IpProtocol.HopByHop && data.Length > Size)
        {
            return Ipv6Parse.JumboPayload;
        }

        if (Size + payloadLength > data.Length)
        {
            return Ipv6Parse.PayloadLengthBeyondData;
        }

        header = new Ipv6Header(data.Slice(0, Size + payloadLength));
        return Ipv6Parse.Ok;
    }

    /// <summary>
    /// Walks extension headers to the upper-layer header. <paramref name="protocol"/> and
    /// <paramref name="offset"/> (from the start of the IPv6 header) locate it on success;
    /// <paramref name="isFragment"/> says whether a Fragment header was crossed.
    /// </summary>
    public readonly Ipv6ExtensionWalk FindUpperLayer(out byte protocol, out int offset, out bool isFragment)
    {
        protocol = NextHeader;
        offset = Size;
        isFragment = false;
        for (int count = 0; ; count++)
        {
            switch (protocol)
            {
                case IpProtocol.HopByHop:
                case IpProtocol.Ipv6Routing:
                case IpProtocol.Ipv6DestinationOptions:
                case IpProtocol.Mobility:
                    // Generic format (RFC 8200 §4.2): next header, length in 8-octet units not counting the first 8.
                    if (offset + 8 > _data.Length)
                    {
                        return Ipv6ExtensionWalk.Truncated;
                    }

                    int length = (_data[offset + 1] + 1) * 8;
                    protocol = _data[offset];
                    offset += length;
                    break;
                case IpProtocol.Ipv6Fragment:
                    // Fragment header (RFC 8200 §4.5): fixed 8 octets; offset in the upper 13 bits of bytes 2..3.
                    if (offset + 8 > _data.Length)
                    {
                        return Ipv6ExtensionWalk.Truncated;
                    }

                    isFragment = true;
                    if ((BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(offset + 2)) & 0xFFF8) != 0)
                    {
                        protocol = _data[offset];
                        return Ipv6ExtensionWalk.LaterFragment;
                    }

                    protocol = _data[offset];
                    offset += 8;
                    break;
                case IpProtocol.Ah:
                    // AH (RFC 4302 §2.2): length in 4-octet units minus 2.
                    if (offset + 8 > _data.Length)
                    {
                        return Ipv6ExtensionWalk.Truncated;
                    }

                    int ahLength = (_data[offset + 1] + 2) * 4;
                    protocol = _data[offset];
                    offset += ahLength;
                    break;
                case IpProtocol.Esp:
                case IpProtocol.Ipv6NoNext:
                    return Ipv6ExtensionWalk.NoUpperLayer;
                default:
                    return offset > _data.Length ? Ipv6ExtensionWalk.Truncated : Ipv6ExtensionWalk.Ok;
            }

            if (count == MaxExtensionHeaders)
            {
                return Ipv6ExtensionWalk.TooManyHeaders;
            }
        }
    }

    /// <summary>Writes a fixed header for datagrams the dataplane originates (no extension headers).</summary>
    public static void Write(Span<byte> data, int payloadLength, byte nextHeader, byte hopLimit, Ip6Address source, Ip6Address destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(data, 0x6000_0000);
        BinaryPrimitives.WriteUInt16BigEndian(data.Slice(PayloadLengthOffset), (ushort)payloadLength);
        data[NextHeaderOffset] = nextHeader;
        data[HopLimitOffset] = hopLimit;
        source.Write(data.Slice(SourceOffset));
        destination.Write(data.Slice(DestinationOffset));
    }
}
