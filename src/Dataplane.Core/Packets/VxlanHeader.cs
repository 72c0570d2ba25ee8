using System.Buffers.Binary;

namespace Dataplane.Packets;

/// <summary>
/// VXLAN header (RFC 7348 section 5), after the outer UDP header; the inner Ethernet frame follows it.
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |R|R|R|R|I|R|R|R|            Reserved                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                VXLAN Network Identifier (VNI) |   Reserved    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// The I flag must be set for a valid VNI; the reserved bits are sent as zero and ignored on receipt (as Linux
/// does without extensions such as GBP).
/// </summary>
public ref struct VxlanHeader
{
    public const int Size = 8;
    public const int FlagsOffset = 0;
    public const int VniOffset = 4;

    /// <summary>The I flag: the VNI is valid.</summary>
    public const byte FlagVniValid = 0x08;

    private readonly Span<byte> _data;

    private VxlanHeader(Span<byte> data) => _data = data;

    public readonly byte Flags => _data[FlagsOffset];

    public readonly bool HasVni => (_data[FlagsOffset] & FlagVniValid) != 0;

    /// <summary>The 24-bit VNI.</summary>
    public readonly int Vni => (int)(BinaryPrimitives.ReadUInt32BigEndian(_data.Slice(VniOffset)) >> 8);

    /// <summary>The inner Ethernet frame.</summary>
    public readonly Span<byte> Payload => _data.Slice(Size);

    /// <summary>False when fewer than 8 bytes remain.</summary>
    public static bool TryParse(Span<byte> data, out VxlanHeader header)
    {
        header = default;
        if (data.Length < Size)
        {
            return false;
        }

        header = new VxlanHeader(data);
        return true;
    }

    /// <summary>Writes the header with the I flag and <paramref name="vni"/>, reserved fields zero.</summary>
    public static void Write(Span<byte> data, int vni)
    {
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)FlagVniValid << 24);
        BinaryPrimitives.WriteUInt32BigEndian(data.Slice(VniOffset), (uint)vni << 8);
    }
}
