using System.Buffers.Binary;

namespace Dataplane.Packets;

public enum ArpParse : byte
{
    Ok,
    Truncated,
    /// <summary>Not Ethernet/IPv4 ARP (hardware type 1, protocol 0x0800, lengths 6 and 4).</summary>
    UnsupportedFormat,
    UnknownOperation,
}

/// <summary>
/// ARP for IPv4 over Ethernet (RFC 826).
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |       Hardware Type (1)       |    Protocol Type (0x0800)     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | HW Len (6)    | Proto Len (4) |  Operation (1 req, 2 reply)   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |            Sender Hardware Address (6)                        |
/// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                               | Sender Protocol Address (4)   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                               |                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  Target Hardware Address (6)  +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                  Target Protocol Address (4)                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public ref struct ArpPacket
{
    public const int Size = 28;
    public const ushort OperationRequest = 1;
    public const ushort OperationReply = 2;
    private const int OperationOffset = 6;
    private const int SenderMacOffset = 8;
    private const int SenderIpOffset = 14;
    private const int TargetMacOffset = 18;
    private const int TargetIpOffset = 24;

    private readonly Span<byte> _data;

    private ArpPacket(Span<byte> data) => _data = data;

    public ushort Operation
    {
        readonly get => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(OperationOffset));
        set => BinaryPrimitives.WriteUInt16BigEndian(_data.Slice(OperationOffset), value);
    }

    public MacAddress SenderMac
    {
        readonly get => MacAddress.Read(_data.Slice(SenderMacOffset));
        set => value.Write(_data.Slice(SenderMacOffset));
    }

    public Ip4Address SenderIp
    {
        readonly get => Ip4Address.Read(_data.Slice(SenderIpOffset));
        set => value.Write(_data.Slice(SenderIpOffset));
    }

    public MacAddress TargetMac
    {
        readonly get => MacAddress.Read(_data.Slice(TargetMacOffset));
        set => value.Write(_data.Slice(TargetMacOffset));
    }

    public Ip4Address TargetIp
    {
        readonly get => Ip4Address.Read(_data.Slice(TargetIpOffset));
        set => value.Write(_data.Slice(TargetIpOffset));
    }

    /// <summary>Gratuitous ARP (RFC 5227 §3): a request or reply announcing the sender's own binding.</summary>
    public readonly bool IsGratuitous => SenderIp == TargetIp;

    public static ArpParse TryParse(Span<byte> data, out ArpPacket arp)
    {
        arp = default;
        if (data.Length < Size)
        {
            return ArpParse.Truncated;
        }

        if (BinaryPrimitives.ReadUInt16BigEndian(data) != 1 || BinaryPrimitives.ReadUInt16BigEndian(data.Slice(2)) != EtherType.Ipv4
            || data[4] != 6 || data[5] != 4)
        {
            return ArpParse.UnsupportedFormat;
        }

        ushort operation = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(OperationOffset));
        if (operation is not (OperationRequest or OperationReply))
        {
            return ArpParse.UnknownOperation;
        }

        arp = new ArpPacket(data.Slice(0, Size));
        return ArpParse.Ok;
    }

    /// <summary>Writes a complete Ethernet/IPv4 ARP packet (for requests and replies the dataplane originates).</summary>
    public static void Write(Span<byte> data, ushort operation, MacAddress senderMac, Ip4Address senderIp, MacAddress targetMac, Ip4Address targetIp)
    {
        BinaryPrimitives.WriteUInt16BigEndian(data, 1);
        BinaryPrimitives.WriteUInt16BigEndian(data.Slice(2), EtherType.Ipv4);
        data[4] = 6;
        data[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(data.Slice(OperationOffset), operation);
        senderMac.Write(data.Slice(SenderMacOffset));
        senderIp.Write(data.Slice(SenderIpOffset));
        targetMac.Write(data.Slice(TargetMacOffset));
        targetIp.Write(data.Slice(TargetIpOffset));
    }
}
