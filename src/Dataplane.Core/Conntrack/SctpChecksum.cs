using System.Buffers.Binary;
using System.Numerics;

namespace Dataplane.Conntrack;

/// <summary>SCTP's CRC32c (RFC 9260 §6.8 and Appendix B), computed with the SSE4.2/ARMv8 CRC instructions when present.</summary>
public static class SctpChecksum
{
    private const int ChecksumOffset = 8;

    public static void Update(Span<byte> packet)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(packet.Slice(ChecksumOffset), 0);
        uint crc = 0xFFFF_FFFF;
        int i = 0;
        for (; i + 8 <= packet.Length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(packet.Slice(i)));
        }

        for (; i < packet.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, packet[i]);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(packet.Slice(ChecksumOffset), ~crc);
    }
}
