using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Dataplane.Packets;

/// <summary>
/// An IPv6 address as two host-order halves (<c>Hi</c> = the first 8 bytes), so prefixes up to /64 are one
/// ulong compare and the whole address is a two-word hash key.
/// </summary>
public readonly record struct Ip6Address(ulong Hi, ulong Lo)
{
    public const int Size = 16;

    public static readonly Ip6Address Any = new(0, 0);

    public bool IsMulticast => (Hi >> 56) == 0xFF;

    /// <summary>fe80::/10.</summary>
    public bool IsLinkLocal => (Hi >> 54) == (0xFE80UL >> 6);

    public bool IsZero => Hi == 0 && Lo == 0;

    public UInt128 ToUInt128() => new(Hi, Lo);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Ip6Address Read(ReadOnlySpan<byte> source)
        => new(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source.Slice(8)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(8), Lo);
    }

    /// <summary>The solicited-node multicast address ff02::1:ffXX:XXXX that Neighbor Solicitations for this address go to (RFC 4291 2.7.1).</summary>
    public Ip6Address SolicitedNodeMulticast => new(0xFF02_0000_0000_0000, 0x0000_0001_FF00_0000 | (Lo & 0xFF_FFFF));

    public static bool TryParse(string? text, out Ip6Address address)
    {
        address = default;
        if (text is null || !IPAddress.TryParse(text, out IPAddress? ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        address = FromIPAddress(ip);
        return true;
    }

    public static Ip6Address Parse(string text)
        => TryParse(text, out Ip6Address a) ? a : throw new FormatException($"'{text}' is not an IPv6 address");

    public static Ip6Address FromIPAddress(IPAddress ip)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (ip.AddressFamily != AddressFamily.InterNetworkV6 || !ip.TryWriteBytes(bytes, out _))
        {
            throw new ArgumentException($"{ip} is not an IPv6 address", nameof(ip));
        }

        return Read(bytes);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        Write(bytes);
        return new IPAddress(bytes);
    }

    public override string ToString() => ToIPAddress().ToString();
}
