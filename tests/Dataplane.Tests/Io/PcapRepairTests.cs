using Dataplane.Io.Pcap;

namespace Dataplane.Tests.Io;

/// <summary>
/// Records that break the pcap rules but that libpcap reads (sf-pcap.c, pcap_next_packet) are read exactly as
/// libpcap reads them, checked against libpcap itself through <see cref="SharpPcapFileReader"/>, and counted.
/// </summary>
[Trait("Category", "unit")]
public sealed class PcapRepairTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Records_beyond_the_snaplen_are_cut_to_it_and_caplen_above_len_is_kept_as_libpcap_does(bool bigEndian)
    {
        string path = new PcapBytes(bigEndian, snapLength: 128)
            .Record(1, 0, PcapBytes.Frame(60, 0))
            .Record(2, 0, PcapBytes.Frame(200, 1))
            .Record(3, 0, PcapBytes.Frame(100, 2), originalLength: 99)
            .Record(4, 0, PcapBytes.Frame(128, 3), originalLength: 1500)
            .WriteTo(_dir.File("repair.pcap"));

        List<(long, int, string)> libpcap = [];
        Assert.True(SharpPcapFileReader.TryOpen(path, out SharpPcapFileReader? reference, out PcapFileError? referenceError), referenceError?.ToString());
        using (reference)
        {
            while (reference.TryReadNext(out PcapRecord record))
            {
                libpcap.Add((record.TimestampNanoseconds, record.OriginalLength, Convert.ToHexString(record.Frame.Span)));
            }

            Assert.Null(reference.Failure);
        }

        foreach (int readSize in new[] { 5, 64, PcapFileReader.DefaultReadSize })
        {
            Assert.True(PcapFileReader.TryOpen(path, readSize, out PcapFileReader? reader, out PcapFileError? error), error?.ToString());
            using (reader)
            {
                List<(long, int, string)> ours = [];
                while (reader.TryReadNext(out PcapRecord record))
                {
                    ours.Add((record.TimestampNanoseconds, record.OriginalLength, Convert.ToHexString(record.Frame.Span)));
                }

                Assert.Null(reader.Failure);
                Assert.Equal(4, ours.Count);
                Assert.Equal(libpcap, ours);
                Assert.Equal(Convert.ToHexString(PcapBytes.Frame(200, 1)[..128]), ours[1].Item3);
                Assert.Equal(new PcapRepairs(TruncatedToSnaplen: 1, CaplenOverLen: 1), reader.Repairs);
            }
        }
    }

    [Fact]
    public void Pcapng_record_beyond_its_interfaces_snaplen_is_refused_as_libpcap_refuses_it_and_caplen_above_len_is_read()
    {
        string path = new PcapNgBytes().Interface(1, "eth0", snapLength: 64)
            .Packet(0, 1_000_000_000, PcapBytes.Frame(50, 2), originalLength: 40)
            .Packet(0, 2_000_000_000, PcapBytes.Frame(100, 1))
            .WriteTo(_dir.File("repair.pcapng"));

        Assert.True(SharpPcapFileReader.TryOpen(path, out SharpPcapFileReader? reference, out PcapFileError? referenceError), referenceError?.ToString());
        string libpcapFirst, libpcapError;
        using (reference)
        {
            Assert.True(reference.TryReadNext(out PcapRecord first));
            libpcapFirst = Convert.ToHexString(first.Frame.Span);
            Assert.False(reference.TryReadNext(out _));
            libpcapError = reference.Failure!.Reason;
        }

        Assert.True(PcapFiles.TryOpen(path, out IPcapSource? source, out PcapFileError? error), error?.ToString());
        using (source)
        {
            Assert.True(source.TryReadNext(out PcapRecord first));
            Assert.Equal(libpcapFirst, Convert.ToHexString(first.Frame.Span));
            Assert.Equal(40, first.OriginalLength);
            Assert.False(source.TryReadNext(out _));
            Assert.Equal(1, source.Failure!.RecordIndex);
            Assert.Equal("invalid packet capture length 100, bigger than snaplen of 64", libpcapError);
            Assert.Equal(libpcapError + "; the file is corrupt", source.Failure.Reason);
            Assert.Equal(new PcapRepairs(TruncatedToSnaplen: 0, CaplenOverLen: 1), source.Repairs);
        }
    }
}
