using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.Io.Netlink;

/// <summary>
/// Walks the rtattr/nlattr list that follows a fixed header. A truncated or malformed attribute ends the
/// walk (MoveNext returns false); nothing throws and nothing is allocated.
/// </summary>
internal ref struct NetlinkAttributeReader
{
    private ReadOnlySpan<byte> _remaining;

    public NetlinkAttributeReader(ReadOnlySpan<byte> attributes)
    {
        _remaining = attributes;
        Type = 0;
        Value = default;
    }

    /// <summary>The attribute type with NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off.</summary>
    public ushort Type { get; private set; }

    public ReadOnlySpan<byte> Value { get; private set; }

    public bool MoveNext()
    {
        if (_remaining.Length < 4)
        {
            return false;
        }

        int length = MemoryMarshal.Read<ushort>(_remaining);
        if (length < 4 || length > _remaining.Length)
        {
            _remaining = default;
            return false;
        }

        Type = (ushort)(MemoryMarshal.Read<ushort>(_remaining.Slice(2)) & Interop.Libc.NLA_TYPE_MASK);
        Value = _remaining.Slice(4, length - 4);
        int aligned = (length + 3) & ~3;
        _remaining = aligned >= _remaining.Length ? default : _remaining.Slice(aligned);
        return true;
    }

    public readonly uint ValueU32 => Value.Length >= 4 ? MemoryMarshal.Read<uint>(Value) : 0;

    public readonly string ValueString
    {
        get
        {
            int nul = Value.IndexOf((byte)0);
            return Encoding.UTF8.GetString(nul < 0 ? Value : Value.Slice(0, nul));
        }
    }
}
