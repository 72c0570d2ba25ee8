using System.Diagnostics.CodeAnalysis;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace Dataplane.Io.Pcap;

/// <summary>
/// Writes Ethernet frames to a classic pcap file with nanosecond timestamps, through SharpPcap's
/// <see cref="CaptureFileWriterDevice"/> (libpcap's pcap_dump). Nanosecond resolution makes the timestamps we
/// write equal to the ones we read, whatever the input's resolution; tcpdump, tshark and libpcap read it.
/// </summary>
public sealed class PcapFileWriter : IDisposable
{
    private readonly CaptureFileWriterDevice _device;
    // SharpPcap's header and timeval are classes; reuse one of each instead of allocating per packet.
    private readonly PosixTimeval _timeval = new(0, 0);
    private PcapHeader _header = new(0, 0, 0, 0);

    private PcapFileWriter(string path, CaptureFileWriterDevice device)
    {
        Path = path;
        _device = device;
        _header.Timeval = _timeval;
    }

    public string Path { get; }

    public long PacketsWritten { get; private set; }

    /// <summary>Creates (or truncates) <paramref name="path"/> and writes the pcap file header.</summary>
    public static bool TryCreate(
        string path,
        [NotNullWhen(true)] out PcapFileWriter? writer,
        [NotNullWhen(false)] out PcapFileError? error)
    {
        writer = null;
        var device = new CaptureFileWriterDevice(path, FileMode.Create);
        try
        {
            device.Open(new DeviceConfiguration
            {
                LinkLayerType = LinkLayers.Ethernet,
                Snaplen = PcapFormat.MaxRecordLength,
                TimestampResolution = TimestampResolution.Nanosecond,
            });
        }
        catch (PcapException e)
        {
            device.Dispose();
            error = new PcapFileError(path, $"cannot create: {e.Message}");
            return false;
        }
        catch (DllNotFoundException e)
        {
            device.Dispose();
            error = new PcapFileError(path, $"libpcap is not installed (Debian: apt-get install libpcap0.8): {e.Message}");
            return false;
        }
        writer = new PcapFileWriter(path, device);
        error = null;
        return true;
    }

    /// <summary>Writes a whole frame (original length = captured length).</summary>
    public void Write(ReadOnlySpan<byte> frame, long timestampNanoseconds) => Write(frame, timestampNanoseconds, frame.Length);

    /// <summary>Writes a frame that was cut short at capture: <paramref name="originalLength"/> is its length on the wire.</summary>
    public void Write(ReadOnlySpan<byte> frame, long timestampNanoseconds, int originalLength)
    {
        // Out-of-range arguments are caller bugs: the pcap format cannot hold them, and no input file can produce them.
        ArgumentOutOfRangeException.ThrowIfNegative(timestampNanoseconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timestampNanoseconds / 1_000_000_000L, uint.MaxValue, nameof(timestampNanoseconds));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frame.Length, PcapFormat.MaxRecordLength, nameof(frame));
        ArgumentOutOfRangeException.ThrowIfLessThan(originalLength, frame.Length);

        // PosixTimeval holds seconds as a decimal; a decimal with scale 9 is exactly nanoseconds / 10^9, and
        // SharpPcap takes it apart again into seconds and nanoseconds for a nanosecond-resolution file.
        ulong nanoseconds = (ulong)timestampNanoseconds;
        _timeval.Value = new decimal((int)(uint)nanoseconds, (int)(uint)(nanoseconds >> 32), 0, isNegative: false, scale: 9);
        _header.CaptureLength = (uint)frame.Length;
        _header.PacketLength = (uint)originalLength;
        _device.Write(frame, ref _header);
        PacketsWritten++;
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose() => _device.Dispose();
}
