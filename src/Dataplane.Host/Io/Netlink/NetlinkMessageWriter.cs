using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.Io.Netlink;

/// <summary>
/// Builds one netlink request in a caller-owned buffer: struct nlmsghdr, the family's fixed header
/// (ifinfomsg, ifaddrmsg, rtmsg), then 4-byte-aligned attributes, which may nest. Host (native) byte order
/// throughout except where an attribute's payload is an address (network order, as the kernel expects).
/// <code>
///  +----------+--------------+-----+-----------------+-----+----------------------------------+
///  | nlmsghdr | fixed header | pad | rtattr | value  | pad | rtattr(nested) | rtattr | value |
///  +----------+--------------+-----+-----------------+-----+----------------------------------+
/// </code>
/// </summary>
internal ref struct NetlinkMessageWriter
{
    private const int HeaderSize = 16; // sizeof(struct nlmsghdr)
    private const int AttributeHeaderSize = 4; // sizeof(struct rtattr)

    private readonly Span<byte> _buffer;
    private int _length;

    public NetlinkMessageWriter(Span<byte> buffer, ushort type, ushort flags)
    {
        _buffer = buffer;
        _buffer.Slice(0, HeaderSize).Clear();
        ref Interop.Libc.nlmsghdr header = ref MemoryMarshal.AsRef<Interop.Libc.nlmsghdr>(_buffer);
        header.nlmsg_type = type;
        header.nlmsg_flags = flags;
        _length = HeaderSize;
    }

    public readonly int Length => _length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Align(int length) => (length + 3) & ~3;

    /// <summary>Appends a zeroed fixed-size header (ifinfomsg, ...) and returns a reference to fill it.</summary>
    public ref T Put<T>()
        where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        Span<byte> slot = Reserve(Align(size));
        return ref MemoryMarshal.AsRef<T>(slot.Slice(0, size));
    }

    public void Attribute(ushort type, scoped ReadOnlySpan<byte> value)
    {
        int length = AttributeHeaderSize + value.Length;
        Span<byte> slot = Reserve(Align(length));
        MemoryMarshal.Write(slot, (ushort)length);
        MemoryMarshal.Write(slot.Slice(2), type);
        value.CopyTo(slot.Slice(AttributeHeaderSize));
    }

    public void AttributeU32(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        MemoryMarshal.Write(bytes, in value); // host order
        Attribute(type, bytes);
    }


    /// <summary>A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND).</summary>
    public void AttributeString(ushort type, string value)
    {
        Span<byte> bytes = stackalloc byte[Encoding.UTF8.GetByteCount(value) + 1];
        bytes.Clear();
        Encoding.UTF8.GetBytes(value, bytes);
        Attribute(type, bytes);
    }

    /// <summary>An IPv4 (4 bytes) or IPv6 (16 bytes) address in network order.</summary>
    public void AttributeAddress(ushort type, IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int written))
        {
            throw new ArgumentException($"cannot encode address {address}", nameof(address));
        }

        Attribute(type, bytes.Slice(0, written));
    }

    /// <summary>Opens a nested attribute; close it with <see cref="EndNested"/>.</summary>
    public int BeginNested(ushort type)
    {
        int start = _length;
        Span<byte> slot = Reserve(AttributeHeaderSize);
        MemoryMarshal.Write(slot.Slice(2), type);
        return start;
    }

    public readonly void EndNested(int start)
    {
        MemoryMarshal.Write(_buffer.Slice(start), (ushort)(_length - start));
    }

    /// <summary>Stamps the sequence number and the total length; returns the bytes to send.</summary>
    public readonly ReadOnlySpan<byte> Finish(uint sequence)
    {
        ref Interop.Libc.nlmsghdr header = ref MemoryMarshal.AsRef<Interop.Libc.nlmsghdr>(_buffer);
        header.nlmsg_len = (uint)_length;
        header.nlmsg_seq = sequence;
        return _buffer.Slice(0, _length);
    }

    private Span<byte> Reserve(int bytes)
    {
        if (_length + bytes > _buffer.Length)
        {
            throw new InvalidOperationException($"netlink request exceeds its {_buffer.Length}-byte buffer");
        }

        Span<byte> slot = _buffer.Slice(_length, bytes);
        slot.Clear();
        _length += bytes;
        return slot;
    }
}
