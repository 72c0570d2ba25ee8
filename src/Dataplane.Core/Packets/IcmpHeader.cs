using System.Buffers.Binary;

namespace Dataplane.Packets;

/// <summary>
/// The common 8-octet ICMP header of ICMPv4 (RFC 792) and ICMPv6 (RFC 4443 §2.1); they share the layout
/// and differ in type numbers and in the checksum (ICMPv6 covers a pseudo-header).
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Type      |     Code      |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Identifier (echo) / unused   |  Sequence (echo) / MTU (PTB)  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Data (echo) / invoking packet (errors) ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-
/// </code>
/// </summary>
public ref struct IcmpHeader
{
    public const int Size = 8;
    public const int TypeOffset = 0;
    public const int CodeOffset = 1;
    public const int ChecksumOffset = 2;
    private const int IdentifierOffset = 4;
    private const int SequenceOffset = 6;

    private readonly Span<byte> _data;

    private IcmpHeader(Span<byte> data) => _data = data;

    /// <summary>The ICMP message: header and body.</summary>
    public readonly Span<byte> Message => _data;

    public byte Type
    {
        readonly get => _data[TypeOffset];
        set => _data[TypeOffset] = value;
    }

    public byte Code
    {
        readonly get => _data[CodeOffset];
        set => _data[CodeOffset] = value;
    }

    public ushort Checksum
    {
        readonly get => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(ChecksumOffset));
        set => BinaryPrimitives.WriteUInt16BigEndian(_data.Slice(ChecksumOffset), value);
    }

    /// <summary>Echo identifier; conntrack uses it as the "port" of an ICMP echo flow.</summary>
    public ushort Identifier
    {
        readonly get => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(IdentifierOffset));
        set => BinaryPrimitives.WriteUInt16BigEndian(_data.Slice(IdentifierOffset), value);
    }

    public readonly ushort Sequence => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(SequenceOffset));

    /// <summary>Next-hop MTU of ICMPv4 "fragmentation needed" (RFC 1191 §4), low 16 bits of the second word.</summary>
    public readonly ushort NextHopMtu => BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(SequenceOffset));

    /// <summary>The second 32-bit word (ICMPv6 Packet Too Big MTU, pointer of Parameter Problem).</summary>
    public readonly uint RestOfHeader => BinaryPrimitives.ReadUInt32BigEndian(_data.Slice(IdentifierOffset));

    public readonly Span<byte> Body => _data.Slice(Size);

    public static bool TryParse(Span<byte> data, out IcmpHeader icmp)
    {
        if (data.Length < Size)
        {
            icmp = default;
            return false;
        }

        icmp = new IcmpHeader(data);
        return true;
    }

    /// <summary>Writes type, code and rest-of-header and zeroes the checksum; the caller computes it over the message.</summary>
    public static void Write(Span<byte> data, byte type, byte code, uint restOfHeader)
    {
        data[0] = type;
        data[1] = code;
        BinaryPrimitives.WriteUInt16BigEndian(data.Slice(ChecksumOffset), 0);
        BinaryPrimitives.WriteUInt32BigEndian(data.Slice(IdentifierOffset), restOfHeader);
    }
}

/// <summary>ICMPv4 type numbers (RFC 792, RFC 1191).</summary>
public static class Icmp4Type
{
    public const byte EchoReply = 0;
    public const byte DestinationUnreachable = 3;
    public const byte EchoRequest = 8;
    public const byte TimeExceeded = 11;
    public const byte ParameterProblem = 12;

    public const byte CodeNetUnreachable = 0;
    public const byte CodeHostUnreachable = 1;
    public const byte CodeProtocolUnreachable = 2;
    public const byte CodePortUnreachable = 3;
    public const byte CodeFragmentationNeeded = 4;

    /// <summary>RFC 1812 §5.2.7.1: what iptables' REJECT --reject-with icmp-admin-prohibited sends.</summary>
    public const byte CodeAdministrativelyProhibited = 13;
    public const byte CodeTtlExceeded = 0;

    /// <summary>Errors carry the invoking datagram; never answer an error with an error (RFC 1122 §3.2.2).</summary>
    public static bool IsError(byte type) => type is DestinationUnreachable or TimeExceeded or ParameterProblem or 4 or 5;
}

/// <summary>ICMPv6 type numbers (RFC 4443, RFC 4861).</summary>
public static class Icmp6Type
{
    public const byte DestinationUnreachable = 1;
    public const byte PacketTooBig = 2;
    public const byte TimeExceeded = 3;
    public const byte ParameterProblem = 4;
    public const byte EchoRequest = 128;
    public const byte EchoReply = 129;
    public const byte RouterSolicitation = 133;
    public const byte RouterAdvertisement = 134;
    public const byte NeighborSolicitation = 135;
    public const byte NeighborAdvertisement = 136;
    public const byte Redirect = 137;

    public const byte CodeNoRoute = 0;
    public const byte CodeAdministrativelyProhibited = 1;
    public const byte CodeAddressUnreachable = 3;
    public const byte CodePortUnreachable = 4;
    public const byte CodeHopLimitExceeded = 0;

    /// <summary>Types 0..127 are errors (RFC 4443 §2.1).</summary>
    public static bool IsError(byte type) => type < 128;
}
