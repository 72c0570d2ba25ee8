using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Dataplane.Packets;

/// <summary>
/// A 48-bit Ethernet address packed into the low 48 bits of a ulong, most significant byte first
/// (so <c>02:00:00:00:00:01</c> is <c>0x020000000001</c>), which makes it a cheap hash key.
/// </summary>
public readonly record struct MacAddress(ulong Value)
{
    public const int Size = 6;

    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFF);
    public static readonly MacAddress Zero = new(0);

    /// <summary>I/G bit of the first octet: group (multicast or broadcast) addresses never appear as a source.</summary>
    public bool IsMulticast => (Value & 0x0100_0000_0000) != 0;

    public bool IsBroadcast => Value == Broadcast.Value;

    public bool IsZero => Value == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MacAddress Read(ReadOnlySpan<byte> source)
        => new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(source) << 32) | BinaryPrimitives.ReadUInt32BigEndian(source.Slice(2)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(2), (uint)Value);
    }

    /// <summary>Parses <c>02:00:0a:f4:01:0b</c> or <c>02-00-0A-F4-01-0B</c>.</summary>
    public static bool TryParse(string? text, out MacAddress mac)
    {
        mac = default;
        if (text is null || text.Length != 17)
        {
            return false;
        }

        ulong value = 0;
        for (int i = 0; i < 6; i++)
        {
            int at = i * 3;
            if (i > 0 && text[at - 1] != ':' && text[at - 1] != '-')
            {
                return false;
            }

            if (!byte.TryParse(text.AsSpan(at, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte octet))
            {
                return false;
            }

            value = (value << 8) | octet;
        }

        mac = new MacAddress(value);
        return true;
    }

    public static MacAddress Parse(string text)
        => TryParse(text, out MacAddress mac) ? mac : throw new FormatException($"'{text}' is not a MAC address (expected six hex octets like 02:00:00:00:00:01)");

    public override string ToString()
        => string.Create(17, Value, static (chars, value) =>
        {
            for (int i = 0; i < 6; i++)
            {
                byte octet = (byte)(value >> (40 - (8 * i)));
                octet.TryFormat(chars.Slice(i * 3, 2), out _, "x2", CultureInfo.InvariantCulture);
                if (i < 5)
                {
                    chars[(i * 3) + 2] = ':';
                }
            }
        });
}
