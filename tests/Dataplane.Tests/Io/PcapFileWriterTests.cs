using System.Net;
using System.Net.NetworkInformation;
using Dataplane.Io.Pcap;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace Dataplane.Tests.Io;

[Trait("Category", "unit")]
public sealed class PcapFileWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    internal static byte[][] PacketDotNetFrames()
    {
        var mac1 = PhysicalAddress.Parse("02-00-00-00-00-01");
        var mac2 = PhysicalAddress.Parse("02-00-00-00-00-02");

        var udp = new UdpPacket(12345, 53) { PayloadData = [1, 2, 3, 4] };
        var ip4 = new IPv4Packet(IPAddress.Parse("10.244.1.11"), IPAddress.Parse("10.96.0.10")) { TimeToLive = 64, PayloadPacket = udp };
        var eth4 = new EthernetPacket(mac1, mac2, EthernetType.IPv4) { PayloadPacket = ip4 };
        ip4.UpdateIPChecksum();
        udp.UpdateUdpChecksum();

        var tcp = new TcpPacket(40000, 443) { Synchronize = true, PayloadData = new byte[1400] };
        var ip6 = new IPv6Packet(IPAddress.Parse("fd00::1"), IPAddress.Parse("fd00::2")) { HopLimit = 64, PayloadPacket = tcp };
        var eth6 = new EthernetPacket(mac2, mac1, EthernetType.IPv6) { PayloadPacket = ip6 };
        tcp.UpdateTcpChecksum();

        return [eth4.Bytes, eth6.Bytes, eth4.Bytes[..14]];
    }

    // Nanoseconds that microsecond rounding would lose, a whole second, and one in the far future.
    internal static readonly long[] Timestamps = [1_700_000_000_123_456_789L, 1_700_000_001_000_000_000L, 4_000_000_000_999_999_999L];

    [Fact]
    public void PacketDotNet_frames_written_with_SharpPcap_read_back_with_identical_bytes_and_timestamps()
    {
        byte[][] frames = PacketDotNetFrames();
        string path = WriteFrames(_dir.File("out.pcap"), frames);

        Assert.True(PcapFileReader.TryOpen(path, out PcapFileReader? reader, out PcapFileError? error), error?.ToString());
        using (reader)
        {
            Assert.True(reader.IsNanosecondResolution);
            for (int i = 0; i < frames.Length; i++)
            {
                PcapFileReaderTests.AssertRecord(reader, Timestamps[i], frames[i]);
            }
            PcapFileReaderTests.AssertEnd(reader);
        }
    }

    [Fact]
    public void Written_file_reads_back_identically_through_libpcap()
    {
        byte[][] frames = PacketDotNetFrames();
        string path = WriteFrames(_dir.File("out.pcap"), frames);

        Assert.True(SharpPcapFileReader.TryOpen(path, out SharpPcapFileReader? reader, out PcapFileError? error), error?.ToString());
        using (reader)
        {
            for (int i = 0; i < frames.Length; i++)
            {
                PcapFileReaderTests.AssertRecord(reader, Timestamps[i], frames[i]);
            }
            PcapFileReaderTests.AssertEnd(reader);
        }
    }

    [Fact]
    public void Cut_short_frame_keeps_its_original_length()
    {
        string path = _dir.File("cut.pcap");
        Assert.True(PcapFileWriter.TryCreate(path, out PcapFileWriter? writer, out _));
        using (writer)
        {
            writer.Write(PcapBytes.Frame(96, 1), 5, originalLength: 1514);
        }

        Assert.True(PcapFileReader.TryOpen(path, out PcapFileReader? reader, out _));
        using (reader)
        {
            Assert.True(reader.TryReadNext(out PcapRecord record));
            Assert.Equal(1514, record.OriginalLength);
            Assert.Equal(PcapBytes.Frame(96, 1), record.Frame.ToArray());
        }
    }

    [Fact]
    public void Microsecond_file_written_by_libpcap_reads_back()
    {
        byte[][] frames = PacketDotNetFrames();
        string path = _dir.File("usec.pcap");
        using (var device = new CaptureFileWriterDevice(path, FileMode.Create))
        {
            device.Open(new DeviceConfiguration { LinkLayerType = LinkLayers.Ethernet });
            for (int i = 0; i < frames.Length; i++)
            {
                var header = new PcapHeader(1_700_000_000u + (uint)i, 999_999, (uint)frames[i].Length, (uint)frames[i].Length);
                device.Write(frames[i], ref header);
            }
        }

        Assert.True(PcapFileReader.TryOpen(path, out PcapFileReader? reader, out PcapFileError? error), error?.ToString());
        using (reader)
        {
            Assert.False(reader.IsNanosecondResolution);
            for (int i = 0; i < frames.Length; i++)
            {
                PcapFileReaderTests.AssertRecord(reader, (1_700_000_000L + i) * 1_000_000_000L + 999_999_000L, frames[i]);
            }
            PcapFileReaderTests.AssertEnd(reader);
        }
    }

    [Fact]
    public void Creating_in_a_missing_directory_is_an_error_naming_the_file()
    {
        string path = _dir.File("no/such/dir/out.pcap");
        Assert.False(PcapFileWriter.TryCreate(path, out _, out PcapFileError? error));
        Assert.Equal(path, error.Path);
        Assert.StartsWith($"{path}: cannot create", error.ToString());
    }

    [Fact]
    public void Frames_the_format_cannot_hold_are_rejected()
    {
        Assert.True(PcapFileWriter.TryCreate(_dir.File("x.pcap"), out PcapFileWriter? writer, out _));
        using (writer)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write(new byte[262145], 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write(new byte[60], -1));
            Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write(new byte[60], 0, originalLength: 59));
            Assert.Equal(0, writer.PacketsWritten);
        }
    }

    internal static string WriteFrames(string path, byte[][] frames)
    {
        Assert.True(PcapFileWriter.TryCreate(path, out PcapFileWriter? writer, out PcapFileError? error), error?.ToString());
        using (writer)
        {
            for (int i = 0; i < frames.Length; i++)
            {
                writer.Write(frames[i], Timestamps[i]);
            }
            Assert.Equal(frames.Length, writer.PacketsWritten);
        }
        return path;
    }
}
