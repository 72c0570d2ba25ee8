using System.Buffers.Binary;

namespace Dataplane.Io.Pcap;

/// <summary>
/// Writes classic pcap (nanosecond magic A1B23C4D, Ethernet, snaplen 262144, host byte order as the format allows)
/// to any stream: `ctl capture -w -` sends it through the control socket to stdout. <see cref="PcapFileWriter"/>
/// (libpcap's pcap_dump) only writes to a named file, so the 24-byte header and 16-byte record headers of
/// pcap-savefile(5) (see <see cref="PcapFormat"/>) are written here.
/// </summary>
public sealed class PcapStreamWriter : ICaptureWriter
{
    private readonly Stream _stream;
    private readonly bool _ownsStream;

    public PcapStreamWriter(Stream stream, bool ownsStream = true)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        Span<byte> header = stackalloc byte[PcapFormat.FileHeaderLength];
        header.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, PcapFormat.NanosecondsLittleEndian);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[PcapFormat.SnapLengthOffset..], PcapFormat.MaxRecordLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[PcapFormat.LinkTypeOffset..], LinkTypes.LINKTYPE_ETHERNET);
        _stream.Write(header);
    }

    public long PacketsWritten { get; private set; }

    public void Write(ushort port, ReadOnlySpan<byte> frame, long timestampNanoseconds)
    {
        int captured = Math.Min(frame.Length, PcapFormat.MaxRecordLength);
        Span<byte> record = stackalloc byte[PcapFormat.RecordHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(record[PcapFormat.SecondsOffset..], (uint)(timestampNanoseconds / 1_000_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(record[PcapFormat.FractionOffset..], (uint)(timestampNanoseconds % 1_000_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(record[PcapFormat.CapturedLengthOffset..], (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(record[PcapFormat.OriginalLengthOffset..], (uint)frame.Length);
        _stream.Write(record);
        _stream.Write(frame[..captured]);
        PacketsWritten++;
    }

    public void Flush() => _stream.Flush();

    public void Dispose()
    {
        _stream.Flush();
        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }
}
