using System.Buffers.Binary;
using System.Text;

namespace Dataplane.Tests.Io;

/// <summary>
/// Builds pcapng files byte by byte (little-endian), independently of the code under test: a section header,
/// interfaces with a name and nanosecond timestamps, and enhanced packet blocks.
/// </summary>
internal sealed class PcapNgBytes
{
    private readonly MemoryStream _bytes = new();

    public PcapNgBytes()
    {
        // SHB: byte-order magic, version 1.0, section length unknown (-1), no options.
        Block(0x0A0D0D0A, b =>
        {
            U32(b, 0x1A2B3C4D);
            U16(b, 1);
            U16(b, 0);
            b.Write(BitConverter.GetBytes(-1L));
        });
    }

    /// <summary>An interface with if_name and if_tsresol = 9 (nanoseconds).</summary>
    public PcapNgBytes Interface(uint linkType, string? name, uint snapLength = 262144)
    {
        Block(1, b =>
        {
            U16(b, (ushort)linkType);
            U16(b, 0);
            U32(b, snapLength);
            if (name is not null)
            {
                Option(b, 2, Encoding.UTF8.GetBytes(name));
            }

            Option(b, 9, [9]);
            U32(b, 0); // opt_endofopt
        });
        return this;
    }

    public PcapNgBytes Packet(uint interfaceId, long timestampNanoseconds, byte[] frame, uint? originalLength = null)
    {
        Block(6, b =>
        {
            U32(b, interfaceId);
            U32(b, (uint)((ulong)timestampNanoseconds >> 32));
            U32(b, (uint)timestampNanoseconds);
            U32(b, (uint)frame.Length);
            U32(b, originalLength ?? (uint)frame.Length);
            b.Write(frame);
            b.Write(new byte[(4 - (frame.Length % 4)) % 4]);
        });
        return this;
    }

    public string WriteTo(string path)
    {
        File.WriteAllBytes(path, _bytes.ToArray());
        return path;
    }

    private void Block(uint type, Action<MemoryStream> body)
    {
        var content = new MemoryStream();
        body(content);
        uint total = (uint)(12 + content.Length);
        U32(_bytes, type);
        U32(_bytes, total);
        content.Position = 0;
        content.CopyTo(_bytes);
        U32(_bytes, total);
    }

    private static void Option(MemoryStream b, ushort code, byte[] value)
    {
        U16(b, code);
        U16(b, (ushort)value.Length);
        b.Write(value);
        b.Write(new byte[(4 - (value.Length % 4)) % 4]);
    }

    private static void U32(MemoryStream s, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        s.Write(b);
    }

    private static void U16(MemoryStream s, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        s.Write(b);
    }
}
