using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Dataplane.Io.Pcap;

/// <summary>
/// Opens a capture file for reading, choosing the reader by the file's magic number:
/// <list type="bullet">
/// <item>classic pcap (A1B2C3D4 / A1B23C4D, either byte order): <see cref="PcapFileReader"/>, our
/// System.IO.Pipelines reader, because it is several times faster than SharpPcap and allocates nothing per
/// packet. PcapReadBenchmarks (100k packets from the page cache, 2-core VM, --job short): 6.6 ns/packet
/// (~150 Mpps) for 64-byte frames and 85 ns for 1500-byte ones, 0 B/packet; SharpPcap's GetNextPacket loop
/// 120 and 386 ns with 64 B/packet; libpcap without SharpPcap's per-packet objects (SharpPcapFileReader)
/// still 77 and 348 ns, as libpcap copies every record through stdio into its own buffer.</item>
/// <item>pcapng (0A0D0D0A, what tshark and dumpcap write): <see cref="PcapNgFileReader"/>, which keeps each
/// record's interface (libpcap does not report it, and refuses interfaces of different link types).</item>
/// </list>
/// </summary>
public static class PcapFiles
{
    public static bool TryOpen(
        string path,
        [NotNullWhen(true)] out IPcapSource? source,
        [NotNullWhen(false)] out PcapFileError? error)
    {
        source = null;
        // Opening a directory fails as "access denied" (EISDIR surfaces as UnauthorizedAccessException), which sends
        // the user looking at permissions; say what it is instead.
        if (Directory.Exists(path))
        {
            error = new PcapFileError(path, "is a directory; expected a pcap or pcapng file");
            return false;
        }

        uint magic;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            Span<byte> bytes = stackalloc byte[4];
            if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            {
                error = new PcapFileError(path, "file is shorter than a pcap or pcapng header");
                return false;
            }
            magic = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = new PcapFileError(path, e.Message);
            return false;
        }

        if (magic == PcapFormat.PcapNgSectionHeaderBlock)
        {
            bool opened = PcapNgFileReader.TryOpen(path, out PcapNgFileReader? pcapng, out error);
            source = pcapng;
            return opened;
        }

        // Classic pcap, or garbage: the pipelines reader checks the magic and names it in its error.
        bool ok = PcapFileReader.TryOpen(path, out PcapFileReader? reader, out error);
        source = reader;
        return ok;
    }
}
