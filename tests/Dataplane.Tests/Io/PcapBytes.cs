using System.Buffers.Binary;

namespace Dataplane.Tests.Io;

/// <summary>
/// Builds classic pcap files byte by byte, independently of the code under test, so tests can make the
/// variants and corruptions real tools rarely write: big-endian, nanosecond, bad lengths, cut-off records.
/// </summary>
internal sealed class PcapBytes
{
    private readonly MemoryStream _bytes = new();
    private readonly bool _bigEndian;
    private readonly bool _nanoseconds;

    public PcapBytes(bool bigEndian = false, bool nanoseconds = false, uint snapLength = 262144, uint linkType = 1, uint? magic = null)
    {
        _bigEndian = bigEndian;
        _nanoseconds = nanoseconds;
        U32(magic ?? (nanoseconds ? 0xA1B23C4Du : 0xA1B2C3D4u));
        U16(2);
        U16(4);
        U32(0);
        U32(0);
        U32(snapLength);
        U32(linkType);
    }

    /// <summary>Adds a record; <paramref name="fraction"/> is micro- or nanoseconds as the file's magic says.</summary>
    public PcapBytes Record(uint seconds, uint fraction, byte[] frame, uint? capturedLength = null, uint? originalLength = null)
    {
        U32(seconds);
        U32(fraction);
        U32(capturedLength ?? (uint)frame.Length);
        U32(originalLength ?? (uint)frame.Length);
        _bytes.Write(frame);
        return this;
    }

    /// <summary>Cuts the last <paramref name="count"/> bytes off, as a capture killed mid-write would.</summary>
    public PcapBytes DropLast(int count)
    {
        _bytes.SetLength(_bytes.Length - count);
        return this;
    }

    public long TimestampNanoseconds(uint seconds, uint fraction) => seconds * 1_000_000_000L + fraction * (_nanoseconds ? 1L : 1000L);

    public byte[] ToArray() => _bytes.ToArray();

    public string WriteTo(string path)
    {
        File.WriteAllBytes(path, _bytes.ToArray());
        return path;
    }

    private void U32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        if (_bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, value); else BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _bytes.Write(b);
    }

    private void U16(ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        if (_bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, value); else BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        _bytes.Write(b);
    }

    /// <summary>A frame of <paramref name="length"/> bytes whose content depends on <paramref name="seed"/>.</summary>
    public static byte[] Frame(int length, int seed)
    {
        var frame = new byte[length];
        for (int i = 0; i < length; i++)
        {
            frame[i] = (byte)(seed * 31 + i * 7);
        }
        return frame;
    }
}
