using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dataplane.Packets;

/// <summary>
/// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of 16-bit words.
/// <para>
/// Sums are kept unfolded in a ulong (<c>Sum</c>) so callers can add a pseudo-header and a payload before
/// folding once. The sum is byte-order independent (RFC 1071 §2(B)), so words are added in native order and
/// the folded result swapped once; the vector path adds 16 words per step into 32-bit lanes.
/// </para>
/// </summary>
public static class InternetChecksum
{
    /// <summary>Adds the bytes of <paramref name="data"/> (an odd tail byte is padded with zero) to <paramref name="sum"/>.</summary>
    public static ulong Sum(ReadOnlySpan<byte> data, ulong sum = 0) => sum + SwapFolded(SumNative(data));

    /// <summary>Folds a sum to 16 bits and complements it: the value to store in a checksum field.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Finish(ulong sum) => (ushort)~Fold(sum);

    /// <summary>The checksum of <paramref name="data"/> alone (e.g. an IPv4 header whose checksum field is zero).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Sum(data));

    /// <summary>True when <paramref name="data"/> including its checksum field sums to 0xFFFF (RFC 1071 verification).</summary>
    public static bool IsValid(ReadOnlySpan<byte> data, ulong pseudoHeaderSum = 0) => Fold(Sum(data, pseudoHeaderSum)) == 0xFFFF;

    /// <summary>The IPv4 pseudo-header sum (RFC 793 §3.1, RFC 768): source, destination, zero+protocol, L4 length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong PseudoHeaderSum(Ip4Address source, Ip4Address destination, byte protocol, int length)
        => (ulong)(source.Value >> 16) + (source.Value & 0xFFFF) + (destination.Value >> 16) + (destination.Value & 0xFFFF)
           + protocol + (uint)length;

    /// <summary>The IPv6 pseudo-header sum (RFC 8200 §8.1): source, destination, upper-layer length, next header.</summary>
    public static ulong PseudoHeaderSum(Ip6Address source, Ip6Address destination, byte nextHeader, int length)
        => SumWords(source.Hi) + SumWords(source.Lo) + SumWords(destination.Hi) + SumWords(destination.Lo)
           + nextHeader + (uint)length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SumWords(ulong value) => (value >> 48) + ((value >> 32) & 0xFFFF) + ((value >> 16) & 0xFFFF) + (value & 0xFFFF);

    /// <summary>One's complement sum in native byte order, folded to 16 bits.</summary>
    private static ushort SumNative(ReadOnlySpan<byte> data)
    {
        ulong sum = 0;
        ref byte start = ref MemoryMarshal.GetReference(data);
        int length = data.Length;
        int i = 0;

        if (Vector256.IsHardwareAccelerated && length >= 64)
        {
            // 32-bit lanes absorb 65,535 16-bit adds before they can overflow; fold every 4 KiB to stay far below.
            while (length - i >= Vector256<byte>.Count)
            {
                Vector256<uint> acc = Vector256<uint>.Zero;
                int chunkEnd = Math.Min(length - Vector256<byte>.Count, i + 4096);
                for (; i <= chunkEnd; i += Vector256<byte>.Count)
                {
                    Vector256<ushort> words = Vector256.LoadUnsafe(ref Unsafe.Add(ref start, i)).AsUInt16();
                    (Vector256<uint> lo, Vector256<uint> hi) = Vector256.Widen(words);
                    acc += lo + hi;
                }

                sum += Vector256.Sum(acc.AsUInt64() & Vector256.Create(0xFFFF_FFFFUL)) + Vector256.Sum(acc.AsUInt64() >> 32);
            }
        }

        for (; length - i >= 8; i += 8)
        {
            ulong word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i));
            sum += (word & 0xFFFF_FFFF) + (word >> 32);
        }

        for (; length - i >= 2; i += 2)
        {
            sum += Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref start, i));
        }

        if (i < length)
        {
            // The odd byte is the high-order byte of a zero-padded word in network order.
            sum += BitConverter.IsLittleEndian ? Unsafe.Add(ref start, i) : (ulong)Unsafe.Add(ref start, i) << 8;
        }

        return Fold(sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort SwapFolded(ushort nativeSum) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(nativeSum) : nativeSum;
}
