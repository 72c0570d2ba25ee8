using Dataplane.Io.Pcap;

namespace Dataplane.Tests.Io;

[Trait("Category", "unit")]
public sealed class PcapMergerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(3)]
    [InlineData(PcapFileReader.DefaultReadSize)]
    public void Three_files_merge_by_timestamp_and_ties_keep_input_then_file_order(int readSize)
    {
        // Each frame's seed encodes (input, position in file), so the output order is visible in the bytes.
        uint[][] seconds =
        [
            [1, 3, 3, 5],
            [2, 3, 4],
            [3, 3, 6, 6],
        ];
        var merger = new PcapMerger(seconds.Select((times, input) => ($"port{input}", (IPcapSource)Open(input, times, readSize))));
        (int Input, int Position)[] expected =
        [
            (0, 0), (1, 0), (0, 1), (0, 2), (1, 1), (2, 0), (2, 1), (1, 2), (0, 3), (2, 2), (2, 3),
        ];

        using (merger)
        {
            Assert.Equal(3, merger.InputCount);
            Assert.Equal("port2", merger.PortName(2));
            foreach ((int input, int position) in expected)
            {
                Assert.True(merger.TryReadNext(out int inputIndex, out PcapRecord record), merger.Failure?.ToString() ?? "ended early");
                Assert.Equal((input, position), (inputIndex, position));
                Assert.Equal(seconds[input][position] * 1_000_000_000L, record.TimestampNanoseconds);
                Assert.Equal(PcapBytes.Frame(FrameLength(input, position), Seed(input, position)), record.Frame.ToArray());
            }
            Assert.False(merger.TryReadNext(out _, out _));
            Assert.Null(merger.Failure);
            Assert.False(merger.TryReadNext(out _, out _));
        }
    }

    [Fact]
    public void Returned_record_stays_valid_while_other_inputs_are_read()
    {
        // Input 0 has one record; input 1 has many that, if the merger read ahead, would recycle input 0's
        // buffers. Tiny reads make every record straddle segments, the case where frames live in a reused buffer.
        var merger = new PcapMerger([("a", Open(0, [1, 10], 5)), ("b", Open(1, [2, 3, 4, 5, 6, 7], 5))]);
        using (merger)
        {
            Assert.True(merger.TryReadNext(out int first, out PcapRecord held));
            Assert.Equal(0, first);
            byte[] copy = held.Frame.ToArray();
            Assert.Equal(PcapBytes.Frame(FrameLength(0, 0), Seed(0, 0)), copy);
            Assert.Equal(copy, held.Frame.ToArray());

            int count = 1;
            while (merger.TryReadNext(out int input, out PcapRecord record))
            {
                count++;
                Assert.Equal(record.TimestampNanoseconds == 10_000_000_000 ? 0 : 1, input);
            }
            Assert.Equal(8, count);
        }
    }

    [Fact]
    public void A_corrupt_input_stops_the_merge_with_its_error()
    {
        string good = PcapFileWriterTests.WriteFrames(_dir.File("good.pcap"), PcapFileWriterTests.PacketDotNetFrames());
        string bad = new PcapBytes(nanoseconds: true)
            .Record(1_700_000_000, 500_000_000, PcapBytes.Frame(60, 1))
            .Record(1_700_000_000, 600_000_000, PcapBytes.Frame(60, 2), capturedLength: 70, originalLength: 60)
            .WriteTo(_dir.File("bad.pcap"));
        Assert.True(PcapFiles.TryOpen(good, out IPcapSource? goodSource, out _));
        Assert.True(PcapFiles.TryOpen(bad, out IPcapSource? badSource, out _));

        using var merger = new PcapMerger([("good", goodSource), ("bad", badSource)]);
        // good: .123 s; bad: .5 s, then the corrupt record, read when .5 is replaced as bad's head.
        Assert.True(merger.TryReadNext(out int i0, out _));
        Assert.True(merger.TryReadNext(out int i1, out _));
        Assert.Equal((0, 1), (i0, i1));
        Assert.False(merger.TryReadNext(out _, out _));
        Assert.NotNull(merger.Failure);
        Assert.Equal(bad, merger.Failure.Path);
        Assert.Equal(1, merger.Failure.RecordIndex);
        Assert.False(merger.TryReadNext(out _, out _));
    }

    [Fact]
    public void No_inputs_means_no_records()
    {
        using var merger = new PcapMerger([]);
        Assert.False(merger.TryReadNext(out _, out _));
        Assert.Null(merger.Failure);
    }

    private static int Seed(int input, int position) => input * 100 + position;

    private static int FrameLength(int input, int position) => 60 + 13 * Seed(input, position) % 1400;

    private PcapFileReader Open(int input, uint[] seconds, int readSize)
    {
        var file = new PcapBytes();
        for (int position = 0; position < seconds.Length; position++)
        {
            file.Record(seconds[position], 0, PcapBytes.Frame(FrameLength(input, position), Seed(input, position)));
        }
        string path = file.WriteTo(_dir.File($"in{input}.pcap"));
        Assert.True(PcapFileReader.TryOpen(path, readSize, out PcapFileReader? reader, out PcapFileError? error), error?.ToString());
        return reader;
    }
}
