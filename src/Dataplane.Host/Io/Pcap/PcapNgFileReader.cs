using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Dataplane.Io.Pcap;

// pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks, each
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +---------------------------------------------------------------+
// |                          Block Type                           |  0
// +---------------------------------------------------------------+
// |                      Block Total Length                       |  4
// +---------------------------------------------------------------+
// /                          Block Body                           /  8
// +---------------------------------------------------------------+
// |                      Block Total Length                       |
// +---------------------------------------------------------------+
// Section Header Block (0x0A0D0D0A) body: byte-order magic 0x1A2B3C4D, version 1.0, section length, options.
// Interface Description Block (1) body: LinkType(16) reserved(16) SnapLen(32) options (if_name = 2,
//   if_tsresol = 9, if_tsoffset = 14).
// Enhanced Packet Block (6) body: Interface ID(32) Timestamp high(32) low(32) Captured(32) Original(32)
//   data padded to 32 bits, options.
// Simple Packet Block (3) body: Original(32) data. Obsolete Packet Block (2): Interface(16) Drops(16) then as EPB.
// Options: Code(16) Length(16) value padded to 32 bits; code 0 ends them.

/// <summary>
/// Reads pcapng with every interface's name and link type, so that replay can send each interface's records to a
/// different port (`--map eth0=web-1`). libpcap reads pcapng too (<see cref="SharpPcapFileReader"/>), but it
/// refuses interfaces of different link types and does not tell which interface a record came from, which a
/// capture of several interfaces needs. Follows libpcap's rules for bad lengths: a record longer than its
/// interface's snaplen is an error (libpcap's message), a captured length above the original one is read.
/// </summary>
public sealed class PcapNgFileReader : IPcapSource
{
    private const uint SectionHeaderBlock = 0x0A0D0D0A;
    private const uint InterfaceDescriptionBlock = 1;
    private const uint ObsoletePacketBlock = 2;
    private const uint SimplePacketBlock = 3;
    private const uint EnhancedPacketBlock = 6;
    private const uint ByteOrderMagic = 0x1A2B3C4D;
    private const int MaxBlockLength = 16 * 1024 * 1024;

    private readonly Stream _stream;
    private readonly List<Interface> _interfaces = [];
    private readonly List<PcapInterface> _public = [];
    private byte[] _block = new byte[4096];
    private bool _bigEndian;
    private int _sectionBase;
    private long _offset;
    private PcapFileError? _error;
    private long _caplenOverLen;

    private PcapNgFileReader(string path, Stream stream)
    {
        Path = path;
        _stream = stream;
    }

    public string Path { get; }

    public long RecordsRead { get; private set; }

    public PcapFileError? Failure => _error;

    public IReadOnlyList<PcapInterface> Interfaces => _public;

    /// <summary>Only caplen above len: libpcap refuses pcapng records beyond the snaplen, and so does this reader.</summary>
    public PcapRepairs Repairs => new(0, _caplenOverLen);

    /// <summary>Opens the file and reads its first section's header and interfaces (those before the first record).</summary>
    public static bool TryOpen(string path, [NotNullWhen(true)] out PcapNgFileReader? reader, [NotNullWhen(false)] out PcapFileError? error)
    {
        reader = null;
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 64 * 1024, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = new PcapFileError(path, e.Message);
            return false;
        }

        var candidate = new PcapNgFileReader(path, stream);
        // Read the leading SHB and IDBs now, so that interface names can be checked against --map before replaying.
        if (!candidate.ReadLeadingBlocks())
        {
            error = candidate._error ?? new PcapFileError(path, "no section header block");
            stream.Dispose();
            return false;
        }

        reader = candidate;
        error = null;
        return true;
    }

    private long _pendingBlockOffset = -1;
    private uint _pendingType;
    private int _pendingLength;

    private bool ReadLeadingBlocks()
    {
        if (!ReadBlock(out uint type, out int length) || type != SectionHeaderBlock)
        {
            _error ??= new PcapFileError(Path, "not a pcapng file: it does not start with a section header block");
            return false;
        }

        while (true)
        {
            long at = _offset;
            if (!ReadBlock(out type, out length))
            {
                return _error is null;
            }

            if (type != InterfaceDescriptionBlock)
            {
                // Keep it for the first TryReadNext.
                _pendingBlockOffset = at;
                _pendingType = type;
                _pendingLength = length;
                return true;
            }

            if (!AddInterface(length))
            {
                return false;
            }
        }
    }

    public bool TryReadNext(out PcapRecord record)
    {
        record = default;
        while (_error is null)
        {
            uint type;
            int length;
            if (_pendingBlockOffset >= 0)
            {
                type = _pendingType;
                length = _pendingLength;
                _pendingBlockOffset = -1;
            }
            else if (!ReadBlock(out type, out length))
            {
                return false;
            }

            switch (type)
            {
                case InterfaceDescriptionBlock:
                    if (!AddInterface(length))
                    {
                        return false;
                    }

                    break;
                case EnhancedPacketBlock when length >= 20:
                    return TakePacket(BinaryRead32(0), BinaryRead32(4), BinaryRead32(8), BinaryRead32(12), BinaryRead32(16), 20, length, out record);
                case ObsoletePacketBlock when length >= 20:
                    return TakePacket(BinaryRead16(0), BinaryRead32(4), BinaryRead32(8), BinaryRead32(12), BinaryRead32(16), 20, length, out record);
                case SimplePacketBlock when length >= 4:
                    // No captured length: the original one cut to the snaplen (and to the block).
                    uint original = BinaryRead32(0);
                    uint snap = _interfaces.Count > _sectionBase ? (uint)_interfaces[_sectionBase].SnapLength : PcapFormat.MaxRecordLength;
                    return TakePacket(0, 0, 0, Math.Min(Math.Min(original, (uint)(length - 4)), snap), original, 4, length, out record);
                case EnhancedPacketBlock or ObsoletePacketBlock or SimplePacketBlock:
                    Fail($"packet block of {length + 12} bytes is too short for its fields");
                    return false;
                default:
                    // Name resolution, statistics, decryption secrets, custom blocks: nothing replay uses.
                    break;
            }
        }

        return false;
    }

    private bool TakePacket(uint interfaceId, uint high, uint low, uint captured, uint original, int dataOffset, int bodyLength, out PcapRecord record)
    {
        record = default;
        int index = _sectionBase + (int)interfaceId;
        if (interfaceId >= (uint)(_interfaces.Count - _sectionBase))
        {
            Fail($"packet names interface {interfaceId}, but the section describes only {_interfaces.Count - _sectionBase}");
            return false;
        }

        if (captured > (uint)(bodyLength - dataOffset))
        {
            Fail($"captured length {captured} runs past the end of its block");
            return false;
        }

        Interface iface = _interfaces[index];
        // libpcap's rule for pcapng (sf-pcapng.c, pcap_ng_next_packet), unlike classic pcap's: a record beyond the
        // snaplen is an error, not cut. (libpcap compares with the first interface's snaplen, as it refuses files
        // whose interfaces differ; we read those, and compare with the record's own interface.)
        if (captured > (uint)iface.SnapLength)
        {
            Fail($"invalid packet capture length {captured}, bigger than snaplen of {iface.SnapLength}; the file is corrupt");
            return false;
        }

        int kept = (int)captured;
        if (captured > original)
        {
            _caplenOverLen++;
        }

        ulong ticks = ((ulong)high << 32) | low;
        ulong seconds = ticks / iface.TicksPerSecond;
        ulong fraction = ticks % iface.TicksPerSecond;
        long nanoseconds = (long)(seconds * 1_000_000_000UL + (ulong)((UInt128)fraction * 1_000_000_000UL / iface.TicksPerSecond)) + (iface.OffsetSeconds * 1_000_000_000L);
        record = new PcapRecord(nanoseconds, (int)Math.Min(original, int.MaxValue), _block.AsMemory(dataOffset, kept), index);
        RecordsRead++;
        return true;
    }

    private bool AddInterface(int bodyLength)
    {
        if (bodyLength < 8)
        {
            Fail("interface description block is too short");
            return false;
        }

        uint linkType = BinaryRead16(0);
        uint snap = BinaryRead32(4);
        string? name = null;
        ulong ticksPerSecond = 1_000_000;
        long offsetSeconds = 0;
        for (int at = 8; at + 4 <= bodyLength;)
        {
            int code = (int)BinaryRead16(at);
            int length = (int)BinaryRead16(at + 2);
            if (code == 0 || at + 4 + length > bodyLength)
            {
                break;
            }

            ReadOnlySpan<byte> value = _block.AsSpan(at + 4, length);
            switch (code)
            {
                case 2:
                    name = Encoding.UTF8.GetString(value).TrimEnd('\0');
                    break;
                case 9 when length >= 1:
                    // if_tsresol: high bit clear, 10^-n seconds; set, 2^-n. Beyond 10^-19 / 2^-63 a tick is not representable.
                    int exponent = value[0] & 0x7F;
                    ticksPerSecond = (value[0] & 0x80) == 0
                        ? exponent <= 19 ? (ulong)Math.Pow(10, exponent) : 0
                        : exponent <= 63 ? 1UL << exponent : 0;
                    break;
                case 14 when length >= 8:
                    offsetSeconds = _bigEndian ? BinaryPrimitives.ReadInt64BigEndian(value) : BinaryPrimitives.ReadInt64LittleEndian(value);
                    break;
            }

            at += 4 + ((length + 3) & ~3);
        }

        if (!LinkTypes.IsSupported(linkType))
        {
            Fail($"interface {_interfaces.Count - _sectionBase}{(name is null ? "" : $" ({name})")}: {LinkTypes.Unsupported(linkType)}");
            return false;
        }

        if (ticksPerSecond == 0)
        {
            Fail($"interface {_interfaces.Count - _sectionBase}: timestamp resolution option 0x{_block[8]:X2} is out of range");
            return false;
        }

        int snapLength = snap is 0 or > PcapFormat.MaxRecordLength ? PcapFormat.MaxRecordLength : (int)snap;
        _interfaces.Add(new Interface(snapLength, ticksPerSecond, offsetSeconds));
        _public.Add(new PcapInterface(name, linkType));
        return true;
    }

    /// <summary>Reads the next block into <see cref="_block"/> (its body only); on a section header, switches byte order.</summary>
    private bool ReadBlock(out uint type, out int bodyLength)
    {
        type = 0;
        bodyLength = 0;
        Span<byte> head = stackalloc byte[12];
        int got = _stream.ReadAtLeast(head[..8], 8, throwOnEndOfStream: false);
        if (got == 0)
        {
            return false;
        }

        if (got < 8)
        {
            Fail($"truncated: the file ends {got} bytes into a block header");
            return false;
        }

        type = BinaryPrimitives.ReadUInt32LittleEndian(head);
        if (type == SectionHeaderBlock)
        {
            // The byte-order magic follows the length; read it to know how to read the length.
            if (_stream.ReadAtLeast(head[8..12], 4, throwOnEndOfStream: false) < 4)
            {
                Fail("truncated: the file ends inside a section header block");
                return false;
            }

            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
            if (magic != ByteOrderMagic && magic != BinaryPrimitives.ReverseEndianness(ByteOrderMagic))
            {
                Fail($"section header block has byte-order magic 0x{magic:X8}, not 1A2B3C4D in either byte order");
                return false;
            }

            _bigEndian = magic != ByteOrderMagic;
            _sectionBase = _interfaces.Count;
        }
        else if (_bigEndian)
        {
            type = BinaryPrimitives.ReverseEndianness(type);
        }

        uint total = _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(head[4..]) : BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
        if (total < 12 || total % 4 != 0 || total > MaxBlockLength)
        {
            Fail($"block of type {type} has a total length of {total}: not a multiple of 4 between 12 and {MaxBlockLength}; the file is corrupt");
            return false;
        }

        // The body, then the trailing copy of the length. For an SHB the magic is already read.
        int already = type == SectionHeaderBlock ? 4 : 0;
        int rest = (int)total - 8 - already;
        if (_block.Length < rest)
        {
            _block = new byte[Math.Max(rest, _block.Length * 2)];
        }

        int read = _stream.ReadAtLeast(_block.AsSpan(0, rest), rest, throwOnEndOfStream: false);
        if (read < rest)
        {
            Fail($"truncated: the block needs {total} bytes but the file ends after {8 + already + read}");
            return false;
        }

        _offset += total;
        bodyLength = rest - 4;
        return true;
    }

    private uint BinaryRead32(int at) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(_block.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(_block.AsSpan(at));

    private uint BinaryRead16(int at) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(_block.AsSpan(at)) : BinaryPrimitives.ReadUInt16LittleEndian(_block.AsSpan(at));

    private void Fail(string reason) => _error ??= new PcapFileError(Path, reason, RecordsRead, _offset);

    public void Dispose() => _stream.Dispose();

    private sealed record Interface(int SnapLength, ulong TicksPerSecond, long OffsetSeconds);
}
