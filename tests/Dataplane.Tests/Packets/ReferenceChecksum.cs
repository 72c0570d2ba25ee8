using System.Net;

namespace Dataplane.Tests.Packets;

/// <summary>
/// RFC 1071 the slow, obvious way (one big-endian word at a time, end-around carry at the end): the oracle the
/// tests compare the dataplane's vectorized checksum against, where PacketDotNet has no helper of its own
/// (its ICMPv6 checksum ignores the pseudo-header when validating).
/// </summary>
internal static class ReferenceChecksum
{
    /// <summary>Unfolded sum of big-endian 16-bit words; an odd last byte is the high byte of a zero-padded word.</summary>
    public static ulong Sum(ReadOnlySpan<byte> data, ulong sum = 0)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            uint word = ((uint)data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0u);
            sum += word;
        }

        return sum;
    }

    public static ushort Fold(ulong sum)
    {
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)sum;
    }

    /// <summary>The value for a zeroed checksum field.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data, ulong pseudo = 0) => (ushort)~Fold(Sum(data, pseudo));

    public static bool IsValid(ReadOnlySpan<byte> data, ulong pseudo = 0) => Fold(Sum(data, pseudo)) == 0xFFFF;

    /// <summary>Pseudo-header sum, IPv4 (RFC 768/793) or IPv6 (RFC 8200 §8.1) by the addresses' family.</summary>
    public static ulong PseudoHeader(IPAddress source, IPAddress destination, byte protocol, int length)
    {
        byte[] s = source.GetAddressBytes();
        byte[] d = destination.GetAddressBytes();
        ulong sum = Sum(s) + Sum(d) + protocol;
        return source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? sum + (uint)length
            : sum + (uint)(length >> 16) + (uint)(length & 0xFFFF);
    }
}
