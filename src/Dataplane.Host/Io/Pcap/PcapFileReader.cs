using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Dataplane.Io.Pcap;

/// <summary>
/// Streams the records of a classic libpcap file (any of the four magics) through a
/// <see cref="System.IO.Pipelines.Pipe"/>: at most a couple of 64 KiB segments are held, whatever the file
/// size, and nothing is allocated per record. Each record's frame points into the pipe's segment; the rare
/// record that straddles two segments is copied into one reusable buffer.
/// </summary>
/// <remarks>
/// The pipe is filled synchronously with <see cref="FileStream.Read(Span{byte})"/> and drained with
/// <see cref="PipeReader.TryRead"/>. <c>PipeReader.Create(FileStream)</c> would call
/// <see cref="FileStream.ReadAsync(Memory{byte}, CancellationToken)"/>, which on Linux queues every read to
/// the thread pool, and our replay loop would then block on it: a thread hop and a Task per 64 KiB for
/// nothing, since regular-file reads never really wait. Draining a 100k x 64-byte file from the page cache,
/// PipeReader.Create took 7.6 ns/packet and 0.4 B/packet, this synchronous fill 3.8 ns/packet and ~0 B.
/// </remarks>
public sealed class PcapFileReader : IPcapSource
{
    internal const int DefaultReadSize = 64 * 1024;

    private readonly FileStream _stream;
    private readonly Pipe _pipe;
    private readonly int _readSize;
    private readonly bool _bigEndian;
    private readonly long _nanosecondsPerFraction;
    private readonly int _snapLength;
    private readonly uint _linkType;
    private readonly PcapInterface[] _interfaces;

    // What the last PipeReader.TryRead returned, minus the records consumed before the last rebase. It stays
    // valid, and so do the frames handed out from it, until we AdvanceTo past it when more data is needed.
    private ReadOnlySequence<byte> _buffer;
    // _buffer.First, cached because the fast path parses records straight out of it.
    private ReadOnlyMemory<byte> _first;
    private int _firstConsumed;
    private bool _holdingReadResult;
    private int _incompleteRecordLength;
    private byte[] _straddleBuffer = [];

    private long _recordOffset = PcapFormat.FileHeaderLength;
    private PcapFileError? _error;

    private PcapFileReader(string path, FileStream stream, int readSize, bool bigEndian, bool nanoseconds, int snapLength, uint linkType)
    {
        _linkType = linkType;
        _interfaces = [new PcapInterface(null, linkType)];
        Path = path;
        _stream = stream;
        _readSize = readSize;
        _bigEndian = bigEndian;
        _nanosecondsPerFraction = nanoseconds ? 1 : 1000;
        _snapLength = snapLength;
        // pauseWriterThreshold 0: never pause. We only write when the reader needs more bytes, so the pipe
        // holds at most one record plus one read, and a paused FlushAsync would deadlock this single thread.
        _pipe = new Pipe(new PipeOptions(
            pauseWriterThreshold: 0,
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            minimumSegmentSize: readSize,
            useSynchronizationContext: false));
    }

    public string Path { get; }

    public long RecordsRead { get; private set; }

    public PcapFileError? Failure => _error;

    /// <summary>Snapshot length from the file header (libpcap's maximum when the header says 0 or more).</summary>
    public int SnapLength => _snapLength;

    public bool IsNanosecondResolution => _nanosecondsPerFraction == 1;

    public bool IsBigEndian => _bigEndian;

    /// <summary>LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL or LINKTYPE_LINUX_SLL2 (see <see cref="LinkTypes"/>).</summary>
    public uint LinkType => _linkType;

    public IReadOnlyList<PcapInterface> Interfaces => _interfaces;

    public PcapRepairs Repairs => new(TruncatedToSnaplen, CaplenOverLen);

    /// <summary>Records whose captured length exceeded the file's snaplen: read cut to the snaplen, as libpcap does.</summary>
    public long TruncatedToSnaplen { get; private set; }

    /// <summary>Records whose captured length exceeded their original length: read as they are, as libpcap does.</summary>
    public long CaplenOverLen { get; private set; }

    public static bool TryOpen(
        string path,
        [NotNullWhen(true)] out PcapFileReader? reader,
        [NotNullWhen(false)] out PcapFileError? error)
        => TryOpen(path, DefaultReadSize, out reader, out error);

    /// <param name="readSize">Bytes per file read and pipe segment; tests pass tiny sizes so that headers and
    /// frames straddle segments.</param>
    internal static bool TryOpen(
        string path,
        int readSize,
        [NotNullWhen(true)] out PcapFileReader? reader,
        [NotNullWhen(false)] out PcapFileError? error)
    {
        reader = null;
        FileStream? stream = null;
        try
        {
            // bufferSize 0: the pipe is the buffer; a FileStream buffer would only add a copy.
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
            Span<byte> header = stackalloc byte[PcapFormat.FileHeaderLength];
            int length = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (!TryParseFileHeader(path, header[..length], out bool bigEndian, out bool nanoseconds, out int snapLength, out uint linkType, out error))
            {
                stream.Dispose();
                return false;
            }
            reader = new PcapFileReader(path, stream, readSize, bigEndian, nanoseconds, snapLength, linkType);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream?.Dispose();
            error = new PcapFileError(path, e.Message);
            return false;
        }
    }

    private static bool TryParseFileHeader(
        string path,
        ReadOnlySpan<byte> header,
        out bool bigEndian,
        out bool nanoseconds,
        out int snapLength,
        out uint linkType,
        [NotNullWhen(false)] out PcapFileError? error)
    {
        linkType = 0;
        bigEndian = false;
        nanoseconds = false;
        snapLength = 0;
        if (header.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(header) == PcapFormat.PcapNgSectionHeaderBlock)
        {
            error = new PcapFileError(path, "is a pcapng file, not classic pcap; open it with PcapFiles.TryOpen, which reads pcapng through libpcap");
            return false;
        }
        if (header.Length < PcapFormat.FileHeaderLength)
        {
            error = new PcapFileError(path, $"file is {header.Length} bytes long, shorter than the {PcapFormat.FileHeaderLength}-byte pcap file header");
            return false;
        }

        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        switch (magic)
        {
            case PcapFormat.MicrosecondsLittleEndian: break;
            case PcapFormat.MicrosecondsBigEndian: bigEndian = true; break;
            case PcapFormat.NanosecondsLittleEndian: nanoseconds = true; break;
            case PcapFormat.NanosecondsBigEndian: bigEndian = true; nanoseconds = true; break;
            default:
                error = new PcapFileError(path, $"not a pcap file: magic number 0x{magic:X8} is none of A1B2C3D4, A1B23C4D (either byte order) or pcapng's 0A0D0D0A");
                return false;
        }

        linkType = ReadUInt32(header[PcapFormat.LinkTypeOffset..], bigEndian) & PcapFormat.LinkTypeMask;
        if (!LinkTypes.IsSupported(linkType))
        {
            error = new PcapFileError(path, LinkTypes.Unsupported(linkType));
            return false;
        }

        // Like libpcap: a snaplen of 0 or beyond the maximum means "no limit" (older writers put 0 or 2^32-1).
        uint snap = ReadUInt32(header[PcapFormat.SnapLengthOffset..], bigEndian);
        snapLength = snap is 0 or > PcapFormat.MaxRecordLength ? PcapFormat.MaxRecordLength : (int)snap;
        error = null;
        return true;
    }

    public bool TryReadNext(out PcapRecord record)
    {
        while (true)
        {
            if (TryTakeFromFirstSegment(out record))
            {
                return true;
            }
            switch (TryTakeAcrossSegments(out record))
            {
                case SlowPathResult.Record:
                    return true;
                case SlowPathResult.Failed:
                    return false;
                case SlowPathResult.NeedMoreData when !TryReadMore():
                    return false;
            }
        }
    }

    // The fast path: the whole record lies in the first segment and its lengths look sane. Anything else,
    // including every error, falls through to the slow path, which looks again carefully.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryTakeFromFirstSegment(out PcapRecord record)
    {
        ReadOnlySpan<byte> span = _first.Span[_firstConsumed..];
        if (span.Length >= PcapFormat.RecordHeaderLength)
        {
            uint captured = ReadUInt32(span[PcapFormat.CapturedLengthOffset..], _bigEndian);
            uint original = ReadUInt32(span[PcapFormat.OriginalLengthOffset..], _bigEndian);
            if (captured <= (uint)_snapLength && (uint)(span.Length - PcapFormat.RecordHeaderLength) >= captured)
            {
                if (captured > original)
                {
                    CaplenOverLen++;
                }

                record = new PcapRecord(
                    Timestamp(span),
                    (int)Math.Min(original, int.MaxValue),
                    _first.Slice(_firstConsumed + PcapFormat.RecordHeaderLength, (int)captured));
                Consumed(PcapFormat.RecordHeaderLength + (int)captured);
                _firstConsumed += PcapFormat.RecordHeaderLength + (int)captured;
                return true;
            }
        }
        record = default;
        return false;
    }

    private enum SlowPathResult { Record, NeedMoreData, Failed }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private SlowPathResult TryTakeAcrossSegments(out PcapRecord record)
    {
        record = default;
        if (_error is not null)
        {
            return SlowPathResult.Failed;
        }

        // Rebase past what the fast path consumed, so that _first becomes the segment the next record starts in.
        _buffer = _buffer.Slice(_firstConsumed);
        _first = _buffer.First;
        _firstConsumed = 0;
        _incompleteRecordLength = 0;
        if (_buffer.Length < PcapFormat.RecordHeaderLength)
        {
            return SlowPathResult.NeedMoreData;
        }

        Span<byte> header = stackalloc byte[PcapFormat.RecordHeaderLength];
        _buffer.Slice(0, PcapFormat.RecordHeaderLength).CopyTo(header);
        uint captured = ReadUInt32(header[PcapFormat.CapturedLengthOffset..], _bigEndian);
        uint original = ReadUInt32(header[PcapFormat.OriginalLengthOffset..], _bigEndian);
        // libpcap's rules (sf-pcap.c, pcap_next_packet): beyond the link type's maximum (262144 for the ones we
        // read) the file is corrupt; beyond the snaplen the record is read cut to the snaplen; a captured length
        // beyond the original length is not checked at all. tcpdump and Wireshark read such files, so do we.
        if (captured > PcapFormat.MaxRecordLength)
        {
            Fail(captured > (uint)_snapLength
                ? $"invalid packet capture length {captured}, bigger than snaplen of {_snapLength}; the file is corrupt"
                : $"invalid packet capture length {captured}, bigger than maximum of {PcapFormat.MaxRecordLength}; the file is corrupt");
            return SlowPathResult.Failed;
        }

        int recordLength = PcapFormat.RecordHeaderLength + (int)captured;
        int kept = (int)Math.Min(captured, (uint)_snapLength);
        if (_buffer.Length < recordLength)
        {
            _incompleteRecordLength = recordLength;
            return SlowPathResult.NeedMoreData;
        }

        if (kept < captured)
        {
            TruncatedToSnaplen++;
        }

        if (captured > original)
        {
            CaplenOverLen++;
        }

        ReadOnlyMemory<byte> frame;
        if (_first.Length >= PcapFormat.RecordHeaderLength + kept)
        {
            frame = _first.Slice(PcapFormat.RecordHeaderLength, kept);
        }
        else
        {
            if (_straddleBuffer.Length < kept)
            {
                _straddleBuffer = new byte[Math.Min(PcapFormat.MaxRecordLength, Math.Max(2048, (int)BitOperations.RoundUpToPowerOf2((uint)kept)))];
            }
            _buffer.Slice(PcapFormat.RecordHeaderLength, kept).CopyTo(_straddleBuffer);
            frame = _straddleBuffer.AsMemory(0, kept);
        }
        record = new PcapRecord(Timestamp(header), (int)Math.Min(original, int.MaxValue), frame);
        Consumed(recordLength);
        _buffer = _buffer.Slice(recordLength);
        _first = _buffer.First;
        return SlowPathResult.Record;
    }

    // Called when _buffer holds no complete record: gives the buffer back to the pipe (keeping the unread
    // bytes), reads the next chunk of the file and takes the grown buffer.
    private bool TryReadMore()
    {
        long unread = _buffer.Length;
        if (_holdingReadResult)
        {
            _pipe.Reader.AdvanceTo(_buffer.Start, _buffer.End);
            _holdingReadResult = false;
            _buffer = default;
            _first = default;
        }

        int read;
        try
        {
            Memory<byte> memory = _pipe.Writer.GetMemory(_readSize);
            read = _stream.Read(memory.Span[..Math.Min(memory.Length, _readSize)]);
        }
        catch (IOException e)
        {
            Fail($"read failed: {e.Message}");
            return false;
        }

        if (read == 0)
        {
            if (unread > 0)
            {
                Fail(_incompleteRecordLength > 0
                    ? $"truncated: the record needs {_incompleteRecordLength} bytes but the file ends after {unread}"
                    : $"truncated: the file ends {unread} bytes into the {PcapFormat.RecordHeaderLength}-byte record header");
            }
            return false;
        }

        _pipe.Writer.Advance(read);
        // Never pauses (pauseWriterThreshold is 0), so this completes synchronously without allocating.
        ValueTask<FlushResult> flush = _pipe.Writer.FlushAsync();
        if (!flush.IsCompletedSuccessfully)
        {
            flush.AsTask().GetAwaiter().GetResult();
        }
        _pipe.Reader.TryRead(out ReadResult result);
        _holdingReadResult = true;
        _buffer = result.Buffer;
        _first = _buffer.First;
        _firstConsumed = 0;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Timestamp(ReadOnlySpan<byte> recordHeader)
        => ReadUInt32(recordHeader[PcapFormat.SecondsOffset..], _bigEndian) * 1_000_000_000L
           + ReadUInt32(recordHeader[PcapFormat.FractionOffset..], _bigEndian) * _nanosecondsPerFraction;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Consumed(int recordLength)
    {
        RecordsRead++;
        _recordOffset += recordLength;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ReadUInt32(ReadOnlySpan<byte> span, bool bigEndian)
        => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(span) : BinaryPrimitives.ReadUInt32LittleEndian(span);

    private void Fail(string reason) => _error ??= new PcapFileError(Path, reason, RecordsRead, _recordOffset);

    public void Dispose()
    {
        _pipe.Reader.Complete();
        _pipe.Writer.Complete();
        _stream.Dispose();
        _buffer = default;
        _first = default;
    }
}
