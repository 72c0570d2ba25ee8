using Dataplane.Io.Pcap;

namespace Dataplane.Tests.Io;

/// <summary>Corrupt or unsupported files fail with an error value naming the file and, for records, where.</summary>
[Trait("Category", "unit")]
public sealed class PcapCorruptInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Missing_file_is_an_error_not_an_exception()
    {
        string path = _dir.File("nope.pcap");
        Assert.False(PcapFiles.TryOpen(path, out _, out PcapFileError? error));
        Assert.Equal(path, error.Path);
        Assert.Contains(path, error.ToString());
    }

    [Fact]
    public void Truncated_file_header_is_reported()
    {
        string path = _dir.File("short.pcap");
        File.WriteAllBytes(path, new PcapBytes().ToArray()[..10]);

        Assert.False(PcapFiles.TryOpen(path, out _, out PcapFileError? error));
        Assert.Equal(path, error.Path);
        Assert.Contains("10 bytes long, shorter than the 24-byte pcap file header", error.Reason);
    }

    [Fact]
    public void Garbage_magic_is_reported_with_its_value()
    {
        string path = new PcapBytes(magic: 0xDEADBEEF).WriteTo(_dir.File("garbage.pcap"));

        Assert.False(PcapFiles.TryOpen(path, out _, out PcapFileError? error));
        Assert.Equal(path, error.Path);
        Assert.Contains("not a pcap file: magic number 0xDEADBEEF", error.Reason);
        Assert.StartsWith($"{path}: not a pcap file", error.ToString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Unsupported_link_type_is_reported_by_number_and_name(bool bigEndian)
    {
        // 105 is LINKTYPE_IEEE802_11: Wi-Fi frames, which replay cannot turn into Ethernet.
        string path = new PcapBytes(bigEndian, linkType: 105).Record(1, 1, PcapBytes.Frame(60, 1)).WriteTo(_dir.File("wifi.pcap"));

        Assert.False(PcapFiles.TryOpen(path, out _, out PcapFileError? error));
        Assert.Equal(path, error.Path);
        Assert.Equal("linktype 105 (IEEE 802.11) is not supported; replay reads Ethernet, Linux SLL and SLL2", error.Reason);
    }

    [Theory]
    [InlineData(113u)]
    [InlineData(276u)]
    public void Linux_cooked_captures_open(uint linkType)
    {
        string path = new PcapBytes(linkType: linkType).Record(1, 1, PcapBytes.Frame(60, 1)).WriteTo(_dir.File("cooked.pcap"));

        Assert.True(PcapFiles.TryOpen(path, out IPcapSource? source, out PcapFileError? error), error?.ToString());
        using (source)
        {
            Assert.Equal(linkType, Assert.Single(source.Interfaces).LinkType);
            Assert.True(source.TryReadNext(out PcapRecord record));
            Assert.Equal(60, record.Frame.Length);
        }
    }

    [Fact]
    public void Pcapng_handed_to_the_classic_reader_says_what_to_use()
    {
        string path = _dir.File("ng.pcap");
        File.WriteAllBytes(path, [0x0A, 0x0D, 0x0D, 0x0A, 0x1C, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A]);

        Assert.False(PcapFileReader.TryOpen(path, out _, out PcapFileError? error));
        Assert.Contains("pcapng", error.Reason);
        Assert.Contains(nameof(PcapFiles), error.Reason);
    }

    public static TheoryData<string, byte[], string> BadRecords => new()
    {
        {
            // A header claiming 3 GB must fail at once, not after buffering the rest of the file. libpcap's words.
            "captured length beyond libpcap's maximum",
            new PcapBytes(bigEndian: true, snapLength: 0).Record(1, 0, PcapBytes.Frame(60, 0)).Record(2, 0, PcapBytes.Frame(60, 1), capturedLength: 3_000_000_000, originalLength: 3_000_000_000).ToArray(),
            "invalid packet capture length 3000000000, bigger than snaplen of 262144; the file is corrupt"
        },
        {
            "captured length beyond the maximum though within a larger snaplen",
            new PcapBytes(snapLength: 300_000).Record(1, 0, PcapBytes.Frame(60, 0)).Record(2, 0, PcapBytes.Frame(60, 1), capturedLength: 270_000, originalLength: 270_000).ToArray(),
            "invalid packet capture length 270000, bigger than snaplen of 262144; the file is corrupt"
        },
        {
            "file ends inside a frame",
            new PcapBytes().Record(1, 0, PcapBytes.Frame(60, 0)).Record(2, 0, PcapBytes.Frame(40, 1), capturedLength: 100, originalLength: 100).ToArray(),
            "truncated: the record needs 116 bytes but the file ends after 56"
        },
        {
            "file ends inside a record header",
            new PcapBytes().Record(1, 0, PcapBytes.Frame(60, 0)).Record(2, 0, PcapBytes.Frame(0, 1)).DropLast(9).ToArray(),
            "truncated: the file ends 7 bytes into the 16-byte record header"
        },
    };

    [Theory]
    [MemberData(nameof(BadRecords))]
    public void Bad_second_record_fails_after_the_first_naming_file_index_and_offset(string description, byte[] file, string reason)
    {
        foreach (int readSize in new[] { 5, PcapFileReader.DefaultReadSize })
        {
            string path = _dir.File($"bad-{readSize}.pcap");
            File.WriteAllBytes(path, file);
            Assert.True(PcapFileReader.TryOpen(path, readSize, out PcapFileReader? reader, out PcapFileError? openError), openError?.ToString());
            using (reader)
            {
                Assert.True(reader.TryReadNext(out PcapRecord first), description);
                Assert.Equal(60, first.Frame.Length);

                Assert.False(reader.TryReadNext(out _), description);
                PcapFileError? error = reader.Failure;
                Assert.NotNull(error);
                Assert.Equal(path, error.Path);
                Assert.Equal(1, error.RecordIndex);
                Assert.Equal(24 + 16 + 60, error.ByteOffset);
                Assert.Equal(reason, error.Reason);
                Assert.Equal($"{path}: record 1 at byte offset 100: {reason}", error.ToString());

                // The failure sticks: no later call pretends the file ended cleanly or reads past the damage.
                Assert.False(reader.TryReadNext(out _));
                Assert.Same(error, reader.Failure);
            }
        }
    }
}
