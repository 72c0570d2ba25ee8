using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Dataplane.Packets;

/// <summary>
/// An IPv4 address held in host order (<c>10.0.0.1</c> is <c>0x0A000001</c>): prefix math, LPM and hashing
/// read naturally, and one bswap on load (a single instruction) is all it costs.
/// </summary>
public readonly record struct Ip4Address(uint Value)
{
    public const int Size = 4;

    public static readonly Ip4Address Any = new(0);
    public static readonly Ip4Address Broadcast = new(0xFFFF_FFFF);

    public bool IsMulticast => (Value & 0xF000_0000) == 0xE000_0000;

    public bool IsLimitedBroadcast => Value == uint.MaxValue;

    public bool IsZero => Value == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Ip4Address Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt32BigEndian(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    public static bool TryParse(string? text, out Ip4Address address)
    {
        address = default;
        if (text is null || !IPAddress.TryParse(text, out IPAddress? ip) || ip.AddressFamily != AddressFamily.InterNetwork
            || text.Count(static c => c == '.') != 3)
        {
            return false;
        }

        address = FromIPAddress(ip);
        return true;
    }

    public static Ip4Address Parse(string text)
        => TryParse(text, out Ip4Address a) ? a : throw new FormatException($"'{text}' is not an IPv4 address");

    public static Ip4Address FromIPAddress(IPAddress ip)
    {
        Span<byte> bytes = stackalloc byte[4];
        if (ip.AddressFamily != AddressFamily.InterNetwork || !ip.TryWriteBytes(bytes, out _))
        {
            throw new ArgumentException($"{ip} is not an IPv4 address", nameof(ip));
        }

        return Read(bytes);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[4];
        Write(bytes);
        return new IPAddress(bytes);
    }


    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}
