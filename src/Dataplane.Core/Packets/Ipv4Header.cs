using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Dataplane.Packets;

public enum Ipv4Parse : byte
{
    Ok,
    Truncated,
    NotVersion4,
    HeaderLengthTooSmall,
    HeaderLengthBeyondData,
    TotalLengthTooSmall,
    TotalLengthBeyondData,
}

/// <summary>
/// IPv4 header (RFC 791 §3.1).
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version|  IHL  |Type of Service|          Total Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Identification        |Flags|      Fragment Offset    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Time to Live |    Protocol   |         Header Checksum       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Source Address                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Destination Address                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Options                    |    Padding    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// The view spans exactly Total Length bytes: Ethernet padding after the datagram is not part of it.
/// </summary>
public ref struct Ipv4Header
{
    public const int MinSize = 20;
    public const int MaxSize = 60;
    private const int TosOffset = 1;
    private const int TotalLengthOffset = 2;
    private const int IdentificationOffset = 4;
    private const int FlagsFragmentOffset = 6;
    private const int TtlOffset = 8;
    private const int ProtocolOffset = 9;
    private const int ChecksumOffset = 10;
    public const int SourceOffset = 12;
    public const int DestinationOffset = 16;
    private const ushort DontFragmentBit = 0x4000;
    private const ushort MoreFragmentsBit = 0x2000;
    private const ushort FragmentOffsetMask = 0x1FFF;

    private readonly Span<byte> _data;

    private Ipv4Header(Span<byte> datagram) => _data = datagram;

    /// <summary>The whole datagram (header and payload), Total Length bytes.</summary>
    public readonly Span<byte> Datagram => _data;

    public readonly int HeaderLength => (_data[0] & 0x0F) * 4;

    public readonly bool HasOptions => HeaderLength > MinSize;

    public readonly byte TypeOfService => _data[TosOffset];

    public readonly ushort TotalLength => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(TotalLengthOffset));

    public readonly ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(IdentificationOffset));

    private readonly ushort FlagsAndOffset => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(FlagsFragmentOffset));

    public readonly bool DontFragment => (FlagsAndOffset & DontFragmentBit) != 0;

    public readonly bool MoreFragments => (FlagsAndOffset & MoreFragmentsBit) != 0;

    /// <summary>In 8-octet units.</summary>
    public readonly int FragmentOffset => FlagsAndOffset & FragmentOffsetMask;

    public readonly bool IsFragment => (FlagsAndOffset & (MoreFragmentsBit | FragmentOffsetMask)) != 0;

    /// <summary>A fragment other than the first carries no L4 header.</summary>
    public readonly bool IsLaterFragment => (FlagsAndOffset & FragmentOffsetMask) != 0;

    public byte TimeToLive
    {
        readonly get => _data[TtlOffset];
        set => _data[TtlOffset] = value;
    }

    public readonly byte Protocol => _data[ProtocolOffset];

    public ushort Checksum
    {
        readonly get => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(ChecksumOffset));
        set => BinaryPrimitives.WriteUInt16BigEndian(_data.Slice(ChecksumOffset), value);
    }

    public Ip4Address Source
    {
        readonly get => Ip4Address.Read(_data.Slice(SourceOffset));
        set => value.Write(_data.Slice(SourceOffset));
    }

    public Ip4Address Destination
    {
        readonly get => Ip4Address.Read(_data.Slice(DestinationOffset));
        set => value.Write(_data.Slice(DestinationOffset));
    }

    public readonly Span<byte> Options => _data.Slice(MinSize, HeaderLength - MinSize);

    public readonly Span<byte> Header => _data.Slice(0, HeaderLength);

    public readonly Span<byte> Payload => _data.Slice(HeaderLength);

    public readonly bool IsChecksumValid => InternetChecksum.IsValid(Header);

    /// <summary>The TTL/protocol word as the checksum sees it, for incremental updates when TTL changes.</summary>
    public readonly ushort TtlProtocolWord => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(TtlOffset));

    /// <summary>Decrements TTL and patches the checksum incrementally (RFC 1624 §4 worked example).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void DecrementTtl()
    {
        ushort before = TtlProtocolWord;
        _data[TtlOffset]--;
        var delta = default(ChecksumDelta);
        delta.Add16(before, TtlProtocolWord);
        Checksum = delta.Apply(Checksum);
    }

    /// <summary>Recomputes the header checksum from scratch (for headers the dataplane writes).</summary>
    public void UpdateChecksum()
    {
        Checksum = 0;
        Checksum = InternetChecksum.Compute(Header);
    }

    /// <summary>The pseudo-header sum for this datagram's L4 checksum.</summary>
    public readonly ulong PseudoHeaderSum() => InternetChecksum.PseudoHeaderSum(Source, Destination, Protocol, TotalLength - HeaderLength);

    /// <summary>
    /// Validates version, IHL and Total Length against the bytes present. Returns a reason, never throws;
    /// on success the view spans exactly Total Length bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Ipv4Parse TryParse(Span<byte> data, out Ipv4Header header)
    {
        header = default;
        if (data.Length < MinSize)
        {
            return Ipv4Parse.Truncated;
        }

        byte versionIhl = data[0];
        if ((versionIhl >> 4) != 4)
        {
            return Ipv4Parse.NotVersion4;
        }

        int headerLength = (versionIhl & 0x0F) * 4;
        if (headerLength < MinSize)
        {
            return Ipv4Parse.HeaderLengthTooSmall;
        }

        if (headerLength > data.Length)
        {
            return Ipv4Parse.HeaderLengthBeyondData;
        }

        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(TotalLengthOffset));
        if (totalLength < headerLength)
        {
            return Ipv4Parse.TotalLengthTooSmall;
        }

        if (totalLength > data.Length)
        {
            return Ipv4Parse.TotalLengthBeyondData;
        }

        header = new Ipv4Header(data.Slice(0, totalLength));
        return Ipv4Parse.Ok;
    }

    /// <summary>Writes a 20-byte header without options (checksum computed) for datagrams the dataplane originates.</summary>
    public static void Write(Span<byte> data, int totalLength, byte protocol, byte ttl, Ip4Address source, Ip4Address destination, ushort identification = 0, bool dontFragment = false)
    {
        data[0] = 0x45;
        data[TosOffset] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(data.Slice(TotalLengthOffset), (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(data.Slice(IdentificationOffset), identification);
        BinaryPrimitives.WriteUInt16BigEndian(data.Slice(FlagsFragmentOffset), dontFragment ? DontFragmentBit : (ushort)0);
        data[TtlOffset] = ttl;
        data[ProtocolOffset] = protocol;
        source.Write(data.Slice(SourceOffset));
        destination.Write(data.Slice(DestinationOffset));
        BinaryPrimitives.WriteUInt16BigEndian(data.Slice(ChecksumOffset), 0);
        BinaryPrimitives.WriteUInt16BigEndian(data.Slice(ChecksumOffset), InternetChecksum.Compute(data.Slice(0, MinSize)));
    }
}
