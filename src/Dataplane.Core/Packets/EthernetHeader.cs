using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Dataplane.Packets;

public enum EthernetParse : byte
{
    Ok,
    Truncated,
    TruncatedVlanTag,
}

/// <summary>
/// Ethernet II header (RFC 894), optionally with one IEEE 802.1Q tag.
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Destination MAC (6 octets)                    |
/// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                               |                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
/// |                   Source MAC (6 octets)                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  EtherType or TPID 0x8100     | [802.1Q: PCP|DEI|VID (TCI)]   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | [802.1Q: inner EtherType]     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public ref struct EthernetHeader
{
    public const int Size = 14;
    public const int VlanTagSize = 4;
    public const int DestinationOffset = 0;
    public const int SourceOffset = 6;
    private const int TypeOffset = 12;
    private const int TciOffset = 14;
    private const int InnerTypeOffset = 16;

    private readonly Span<byte> _frame;

    private EthernetHeader(Span<byte> frame, bool hasVlan)
    {
        _frame = frame;
        HasVlanTag = hasVlan;
    }

    public bool HasVlanTag { get; }

    /// <summary>Bytes before the L3 header: 14, or 18 with a VLAN tag.</summary>
    public readonly int HeaderLength => HasVlanTag ? Size + VlanTagSize : Size;

    public readonly MacAddress Destination
    {
        get => MacAddress.Read(_frame.Slice(DestinationOffset));
        set => value.Write(_frame.Slice(DestinationOffset));
    }

    public readonly MacAddress Source
    {
        get => MacAddress.Read(_frame.Slice(SourceOffset));
        set => value.Write(_frame.Slice(SourceOffset));
    }

    /// <summary>The EtherType of the payload (the inner one when tagged).</summary>
    public readonly ushort EtherType
        => BinaryPrimitives.ReadUInt16BigEndian(_frame.Slice(HasVlanTag ? InnerTypeOffset : TypeOffset));

    /// <summary>The 12-bit VLAN ID, 0 when untagged.</summary>
    public readonly ushort VlanId => HasVlanTag ? (ushort)(BinaryPrimitives.ReadUInt16BigEndian(_frame.Slice(TciOffset)) & 0x0FFF) : (ushort)0;

    public readonly Span<byte> Payload => _frame.Slice(HeaderLength);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static EthernetParse TryParse(Span<byte> frame, out EthernetHeader header)
    {
        header = default;
        if (frame.Length < Size)
        {
            return EthernetParse.Truncated;
        }

        bool tagged = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(TypeOffset)) == Packets.EtherType.Vlan;
        if (tagged && frame.Length < Size + VlanTagSize)
        {
            return EthernetParse.TruncatedVlanTag;
        }

        header = new EthernetHeader(frame, tagged);
        return EthernetParse.Ok;
    }

    /// <summary>Writes an untagged header; for frames the dataplane builds itself.</summary>
    public static void Write(Span<byte> frame, MacAddress destination, MacAddress source, ushort etherType)
    {
        destination.Write(frame.Slice(DestinationOffset));
        source.Write(frame.Slice(SourceOffset));
        BinaryPrimitives.WriteUInt16BigEndian(frame.Slice(TypeOffset), etherType);
    }

    /// <summary>Swaps source and destination in place (replies to the sender).</summary>
    public static void SwapAddresses(Span<byte> frame, MacAddress newSource)
    {
        MacAddress.Read(frame.Slice(SourceOffset)).Write(frame.Slice(DestinationOffset));
        newSource.Write(frame.Slice(SourceOffset));
    }
}
