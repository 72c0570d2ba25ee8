using System.Buffers.Binary;

namespace Dataplane.Tests.Io;

/// <summary>
/// Writes large little-endian nanosecond pcap files straight to a FileStream: a million records in well under a
/// second, where going through libpcap per packet would dominate the test's run time.
/// </summary>
internal static class PcapFileGenerator
{
    public static long TimestampNanoseconds(int index) => 1_700_000_000_000_000_000L + index * 1_000L;

    /// <summary>Record i carries i in its first four bytes and <see cref="TimestampNanoseconds"/>(i).</summary>
    public static string Write(string path, int packets, int frameLength)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xA1B23C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 262144);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], 1);
        stream.Write(header);

        byte[] record = new byte[16 + frameLength];
        for (int i = 0; i < frameLength; i++)
        {
            record[16 + i] = (byte)i;
        }
        for (int i = 0; i < packets; i++)
        {
            long ts = TimestampNanoseconds(i);
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(ts / 1_000_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)(ts % 1_000_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), (uint)frameLength);
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12), (uint)frameLength);
            if (frameLength >= 4)
            {
                BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(16), i);
            }
            stream.Write(record);
        }
        return path;
    }
}
