using System.Buffers.Binary;
using Dataplane.Io.Pcap;

namespace Dataplane.Tests.Io;

[Trait("Category", "unit")]
public sealed class PcapFileReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // Tiny read sizes put record headers and frames across pipe segments, down to one byte per segment.
    public static TheoryData<int> ReadSizes => new() { 1, 7, 16, 17, 100, 4096, PcapFileReader.DefaultReadSize };

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Each_magic_gives_the_timestamps_and_bytes_written(bool bigEndian, bool nanoseconds)
    {
        var file = new PcapBytes(bigEndian, nanoseconds);
        uint fraction = nanoseconds ? 999_999_999u : 999_999u;
        file.Record(1_700_000_000, fraction, PcapBytes.Frame(60, 1))
            .Record(1_700_000_001, 1, PcapBytes.Frame(1514, 2))
            .Record(4_000_000_000, 0, PcapBytes.Frame(14, 3));
        string path = file.WriteTo(_dir.File("magic.pcap"));

        Assert.True(PcapFileReader.TryOpen(path, out PcapFileReader? reader, out PcapFileError? error), error?.ToString());
        using (reader)
        {
            Assert.Equal(bigEndian, reader.IsBigEndian);
            Assert.Equal(nanoseconds, reader.IsNanosecondResolution);
            AssertRecord(reader, file.TimestampNanoseconds(1_700_000_000, fraction), PcapBytes.Frame(60, 1));
            AssertRecord(reader, file.TimestampNanoseconds(1_700_000_001, 1), PcapBytes.Frame(1514, 2));
            // Seconds is unsigned in the format: 4e9 s (year 2096) must not come out negative.
            AssertRecord(reader, 4_000_000_000L * 1_000_000_000L, PcapBytes.Frame(14, 3));
            AssertEnd(reader);
        }
    }

    [Theory]
    [MemberData(nameof(ReadSizes))]
    public void Records_straddling_pipe_segments_are_read_whole(int readSize)
    {
        var file = new PcapBytes(nanoseconds: true);
        int[] lengths = [60, 0, 1514, 9000, 61, 64, 262144, 1, 128];
        for (int i = 0; i < lengths.Length; i++)
        {
            file.Record((uint)i, (uint)i * 10, PcapBytes.Frame(lengths[i], i));
        }
        string path = file.WriteTo(_dir.File("straddle.pcap"));

        Assert.True(PcapFileReader.TryOpen(path, readSize, out PcapFileReader? reader, out PcapFileError? error), error?.ToString());
        using (reader)
        {
            for (int i = 0; i < lengths.Length; i++)
            {
                AssertRecord(reader, i * 1_000_000_000L + i * 10, PcapBytes.Frame(lengths[i], i));
            }
            AssertEnd(reader);
            Assert.Equal(lengths.Length, reader.RecordsRead);
        }
    }

    [Fact]
    public void Cut_short_record_keeps_its_original_length()
    {
        string path = new PcapBytes(snapLength: 96)
            .Record(1, 2, PcapBytes.Frame(96, 1), originalLength: 1514)
            .WriteTo(_dir.File("snap.pcap"));

        Assert.True(PcapFileReader.TryOpen(path, out PcapFileReader? reader, out _));
        using (reader)
        {
            Assert.Equal(96, reader.SnapLength);
            Assert.True(reader.TryReadNext(out PcapRecord record));
            Assert.Equal(1514, record.OriginalLength);
            Assert.Equal(96, record.Frame.Length);
            Assert.True(record.IsCutShort);
        }
    }

    [Fact]
    public void File_with_only_a_header_has_no_records_and_no_failure()
    {
        string path = new PcapBytes().WriteTo(_dir.File("empty.pcap"));
        Assert.True(PcapFileReader.TryOpen(path, out PcapFileReader? reader, out _));
        using (reader)
        {
            AssertEnd(reader);
            AssertEnd(reader);
        }
    }

    [Fact]
    public void Reading_100k_packets_allocates_nothing_per_packet()
    {
        const int Packets = 100_000;
        string path = PcapFileGenerator.Write(_dir.File("alloc.pcap"), Packets, frameLength: 64);

        // Warm up: JIT both paths and let the pipe's segment pool fill.
        CountRecords(path);

        long before = GC.GetAllocatedBytesForCurrentThread();
        long count = CountRecords(path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Packets, count);
        // Any object allocated per packet costs at least 24 bytes, so 8 bytes per packet leaves room only for
        // per-file costs (reader, pipe, FileStream: a few KiB) and catches any per-packet allocation.
        Assert.True(allocated < 8L * Packets, $"allocated {allocated} bytes for {Packets} packets ({(double)allocated / Packets:F2} B/packet)");
    }

    [Fact]
    public void A_million_packet_file_is_streamed_in_bounded_memory()
    {
        const int Packets = 1_000_000;
        const int FrameLength = 60;
        string path = PcapFileGenerator.Write(_dir.File("million.pcap"), Packets, FrameLength);
        long fileSize = new FileInfo(path).Length;

        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(PcapFileReader.TryOpen(path, out PcapFileReader? reader, out PcapFileError? error), error?.ToString());
        long count = 0;
        long lastTimestamp = -1;
        bool ordered = true;
        bool framesMatch = true;
        using (reader)
        {
            while (reader.TryReadNext(out PcapRecord record))
            {
                ordered &= record.TimestampNanoseconds > lastTimestamp;
                lastTimestamp = record.TimestampNanoseconds;
                framesMatch &= record.Frame.Length == FrameLength && BinaryPrimitives.ReadInt32LittleEndian(record.Frame.Span) == (int)count;
                count++;
            }
            Assert.Null(reader.Failure);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Packets, count);
        Assert.True(ordered);
        Assert.True(framesMatch);
        Assert.Equal(PcapFileGenerator.TimestampNanoseconds(Packets - 1), lastTimestamp);
        // The file is 76 MB; a reader that held it, or allocated per packet, would exceed this by far.
        Assert.True(allocated < 1024 * 1024, $"allocated {allocated} bytes reading a {fileSize}-byte file");
    }

    private static long CountRecords(string path)
    {
        Assert.True(PcapFileReader.TryOpen(path, out PcapFileReader? reader, out PcapFileError? error), error?.ToString());
        long count = 0;
        using (reader)
        {
            while (reader.TryReadNext(out PcapRecord record))
            {
                count += record.Frame.Length > 0 ? 1 : 0;
            }
            Assert.Null(reader.Failure);
        }
        return count;
    }

    internal static void AssertRecord(IPcapSource source, long timestampNanoseconds, byte[] frame)
    {
        Assert.True(source.TryReadNext(out PcapRecord record), source.Failure?.ToString() ?? "ended early");
        Assert.Equal(timestampNanoseconds, record.TimestampNanoseconds);
        Assert.Equal(frame.Length, record.OriginalLength);
        Assert.Equal(frame, record.Frame.ToArray());
    }

    internal static void AssertEnd(IPcapSource source)
    {
        Assert.False(source.TryReadNext(out _));
        Assert.Null(source.Failure);
    }
}
