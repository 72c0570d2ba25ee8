using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace Dataplane.Io.Pcap;

/// <summary>
/// Reads Ethernet capture files through SharpPcap's <see cref="CaptureFileReaderDevice"/>. Replay reads pcapng
/// with <see cref="PcapNgFileReader"/> instead, because libpcap does not say which interface a record was taken
/// on; this one stays as the reference the benchmarks and tests compare against.
/// </summary>
/// <remarks>
/// It calls <see cref="PcapDevice.GetNextPacketPointers"/> rather than <see cref="PcapDevice.GetNextPacket"/>,
/// which allocates a PcapHeader and a PosixTimeval per packet (64 B) and whose timestamp is a decimal: in
/// PcapReadBenchmarks that is 120 ns/packet against 77 ns for this class (64-byte frames). The frame is copied
/// out of libpcap's buffer so that it can be handed out as <see cref="ReadOnlyMemory{T}"/>.
/// </remarks>
public sealed class SharpPcapFileReader : IPcapSource
{
    private readonly CaptureFileReaderDevice _device;
    private readonly long _nanosecondsPerFraction;
    private byte[] _frame = new byte[2048];
    private PcapFileError? _error;

    private SharpPcapFileReader(string path, CaptureFileReaderDevice device, bool nanoseconds)
    {
        Path = path;
        _device = device;
        _nanosecondsPerFraction = nanoseconds ? 1 : 1000;
    }

    public string Path { get; }

    public long RecordsRead { get; private set; }

    public IReadOnlyList<PcapInterface> Interfaces { get; } = [new PcapInterface(null, LinkTypes.LINKTYPE_ETHERNET)];

    public PcapFileError? Failure => _error;

    public static bool TryOpen(
        string path,
        [NotNullWhen(true)] out SharpPcapFileReader? reader,
        [NotNullWhen(false)] out PcapFileError? error)
    {
        reader = null;
        var device = new CaptureFileReaderDevice(path);
        try
        {
            // Nanosecond precision: libpcap then scales microsecond files up, so timestamps are never rounded.
            device.Open(new DeviceConfiguration { TimestampResolution = TimestampResolution.Nanosecond });
        }
        catch (PcapException e)
        {
            device.Dispose();
            error = new PcapFileError(path, e.Message);
            return false;
        }
        catch (DllNotFoundException e)
        {
            device.Dispose();
            error = new PcapFileError(path, $"libpcap is not installed (Debian: apt-get install libpcap0.8): {e.Message}");
            return false;
        }

        if (device.LinkType != LinkLayers.Ethernet)
        {
            error = new PcapFileError(path, $"link type is {(int)device.LinkType} ({device.LinkType}), but only Ethernet (LINKTYPE_ETHERNET = 1) frames can be replayed");
            device.Dispose();
            return false;
        }

        // libpcap older than 1.5.1 ignores the requested precision and reports microseconds.
        reader = new SharpPcapFileReader(path, device, device.TimestampResolution == TimestampResolution.Nanosecond);
        error = null;
        return true;
    }

    public unsafe bool TryReadNext(out PcapRecord record)
    {
        record = default;
        if (_error is not null)
        {
            return false;
        }

        nint header = 0;
        nint data = 0;
        switch (_device.GetNextPacketPointers(ref header, ref data))
        {
            case PCAP_NEXT_EX_PACKET:
                break;
            case PCAP_ERROR_BREAK:
                return false;
            default:
                _error = new PcapFileError(Path, _device.LastError, RecordsRead);
                return false;
        }

        ref readonly pcap_pkthdr h = ref *(pcap_pkthdr*)header;
        int captured = (int)h.caplen;
        if (_frame.Length < captured)
        {
            // libpcap rejects records above its maximum snaplen, so this grows at most to 256 KiB.
            _frame = new byte[captured];
        }
        new ReadOnlySpan<byte>((void*)data, captured).CopyTo(_frame);
        // libpcap 1.10 reads classic pcap seconds as a signed 32-bit int, so a time past 2038 arrives sign-extended;
        // the format (and wiretap, and PcapFileReader) read them unsigned.
        long seconds = h.tv_sec < 0 ? (uint)h.tv_sec : h.tv_sec;
        record = new PcapRecord(seconds * 1_000_000_000L + h.tv_usec * _nanosecondsPerFraction, (int)h.len, _frame.AsMemory(0, captured));
        RecordsRead++;
        return true;
    }

    public void Dispose() => _device.Dispose();

    // pcap_next_ex(3PCAP) results.
    private const int PCAP_NEXT_EX_PACKET = 1;
    private const int PCAP_ERROR_BREAK = -2;

    // struct pcap_pkthdr from <pcap/pcap.h> with Linux's struct timeval (two longs, so nint on both LP64 and
    // ILP32). With nanosecond precision libpcap stores nanoseconds in tv_usec. The dataplane only runs on Linux.
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct pcap_pkthdr
    {
        public readonly nint tv_sec;
        public readonly nint tv_usec;
        public readonly uint caplen;
        public readonly uint len;
    }
}
