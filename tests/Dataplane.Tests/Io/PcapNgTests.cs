using System.Diagnostics;
using Dataplane.Io.Pcap;

namespace Dataplane.Tests.Io;

/// <summary>pcapng, as tshark and dumpcap write it, is read through libpcap behind the same IPcapSource.</summary>
[Trait("Category", "unit")]
public sealed class PcapNgTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Classic_pcap_opens_with_the_pipelines_reader()
    {
        string path = PcapFileWriterTests.WriteFrames(_dir.File("in.pcap"), PcapFileWriterTests.PacketDotNetFrames());
        Assert.True(PcapFiles.TryOpen(path, out IPcapSource? source, out PcapFileError? error), error?.ToString());
        using (source)
        {
            Assert.IsType<PcapFileReader>(source);
        }
    }

    [Fact]
    public void Pcapng_converted_by_editcap_reads_back_identically()
    {
        byte[][] frames = PcapFileWriterTests.PacketDotNetFrames();
        string pcap = PcapFileWriterTests.WriteFrames(_dir.File("in.pcap"), frames);
        string pcapng = _dir.File("in.pcapng");
        Editcap("-F", "pcapng", pcap, pcapng);

        Assert.True(PcapFiles.TryOpen(pcapng, out IPcapSource? source, out PcapFileError? error), error?.ToString());
        using (source)
        {
            Assert.IsType<PcapNgFileReader>(source);
            Assert.Equal(pcapng, source.Path);
            for (int i = 0; i < frames.Length; i++)
            {
                PcapFileReaderTests.AssertRecord(source, PcapFileWriterTests.Timestamps[i], frames[i]);
            }
            PcapFileReaderTests.AssertEnd(source);
            Assert.Equal(frames.Length, source.RecordsRead);
        }
    }

    [Fact]
    public void Pcapng_with_an_unsupported_link_type_is_reported_by_number_and_name()
    {
        string pcap = PcapFileWriterTests.WriteFrames(_dir.File("in.pcap"), PcapFileWriterTests.PacketDotNetFrames());
        string pcapng = _dir.File("wifi.pcapng");
        Editcap("-F", "pcapng", "-T", "ieee-802-11", pcap, pcapng);

        Assert.False(PcapFiles.TryOpen(pcapng, out _, out PcapFileError? error));
        Assert.Equal(pcapng, error.Path);
        Assert.Contains("linktype 105 (IEEE 802.11) is not supported; replay reads Ethernet, Linux SLL and SLL2", error.Reason);
    }

    [Fact]
    public void Truncated_pcapng_fails_after_its_complete_records_naming_the_file()
    {
        byte[][] frames = PcapFileWriterTests.PacketDotNetFrames();
        string pcap = PcapFileWriterTests.WriteFrames(_dir.File("in.pcap"), frames);
        string pcapng = _dir.File("cut.pcapng");
        Editcap("-F", "pcapng", pcap, pcapng);
        byte[] bytes = File.ReadAllBytes(pcapng);
        // The last block is the 14-byte frame's Enhanced Packet Block (48 bytes with padding); cut into it.
        File.WriteAllBytes(pcapng, bytes[..^20]);

        Assert.True(PcapFiles.TryOpen(pcapng, out IPcapSource? source, out PcapFileError? error), error?.ToString());
        using (source)
        {
            PcapFileReaderTests.AssertRecord(source, PcapFileWriterTests.Timestamps[0], frames[0]);
            PcapFileReaderTests.AssertRecord(source, PcapFileWriterTests.Timestamps[1], frames[1]);
            Assert.False(source.TryReadNext(out _));
            Assert.NotNull(source.Failure);
            Assert.Equal(pcapng, source.Failure.Path);
            Assert.Equal(2, source.Failure.RecordIndex);
            Assert.Contains("truncated", source.Failure.Reason, StringComparison.OrdinalIgnoreCase);
        }
    }

    // editcap is part of Wireshark (Debian: wireshark-common). A missing tool fails the test: a skipped pcapng
    // test would hide that the fallback path is untested.
    private static void Editcap(params string[] arguments)
    {
        string? editcap = Environment.GetEnvironmentVariable("PATH")?
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "editcap"))
            .FirstOrDefault(File.Exists);
        Assert.True(editcap is not null, "editcap not found on PATH; install it (Debian: apt-get install wireshark-common)");

        var start = new ProcessStartInfo(editcap) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using Process process = Process.Start(start)!;
        string stderr = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), "editcap did not finish within 30 s");
        Assert.True(process.ExitCode == 0, $"editcap {string.Join(' ', arguments)} exited {process.ExitCode}: {stderr}");
    }
}
