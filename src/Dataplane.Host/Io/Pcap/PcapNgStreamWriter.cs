using System.Buffers.Binary;
using System.Text;

namespace Dataplane.Io.Pcap;

/// <summary>
/// Writes pcapng with one interface per port, named after it (`ctl capture --all`), so tshark shows each frame's
/// port as frame.interface_name. libpcap and SharpPcap cannot write pcapng, so the three block types needed are
/// written here (little-endian; layouts in <see cref="PcapNgFileReader"/>): a Section Header Block, an Interface
/// Description Block per port (LINKTYPE_ETHERNET, snaplen 262144, if_name, if_tsresol = 9: nanoseconds), and an
/// Enhanced Packet Block per frame whose interface ID is the port id.
/// </summary>
public sealed class PcapNgStreamWriter : ICaptureWriter
{
    private const uint SectionHeaderBlock = 0x0A0D0D0A;
    private const uint InterfaceDescriptionBlock = 1;
    private const uint EnhancedPacketBlock = 6;
    private const ushort OptionEnd = 0;
    private const ushort OptionIfName = 2;
    private const ushort OptionIfTsResol = 9;

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly int _interfaces;

    /// <param name="interfaceNames">One per port, in port-id order.</param>
    public PcapNgStreamWriter(Stream stream, IReadOnlyList<string> interfaceNames, bool ownsStream = true)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _interfaces = interfaceNames.Count;

        // SHB: byte-order magic, version 1.0, section length -1 (not known: we stream).
        Span<byte> shb = stackalloc byte[28];
        BinaryPrimitives.WriteUInt32LittleEndian(shb, SectionHeaderBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[4..], 28);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[8..], 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(shb[12..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(shb[14..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(shb[16..], -1);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[24..], 28);
        _stream.Write(shb);

        foreach (string name in interfaceNames)
        {
            byte[] nameBytes = Encoding.UTF8.GetBytes(name);
            int namePadded = Pad4(nameBytes.Length);
            // type, length, linktype+reserved, snaplen, if_name option, if_tsresol option (1 byte padded to 4), end option, length.
            int total = 8 + 8 + (4 + namePadded) + (4 + 4) + 4 + 4;
            var idb = new byte[total];
            Span<byte> b = idb;
            BinaryPrimitives.WriteUInt32LittleEndian(b, InterfaceDescriptionBlock);
            BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)total);
            BinaryPrimitives.WriteUInt16LittleEndian(b[8..], (ushort)LinkTypes.LINKTYPE_ETHERNET);
            BinaryPrimitives.WriteUInt32LittleEndian(b[12..], PcapFormat.MaxRecordLength);
            int at = 16;
            BinaryPrimitives.WriteUInt16LittleEndian(b[at..], OptionIfName);
            BinaryPrimitives.WriteUInt16LittleEndian(b[(at + 2)..], (ushort)nameBytes.Length);
            nameBytes.CopyTo(b[(at + 4)..]);
            at += 4 + namePadded;
            BinaryPrimitives.WriteUInt16LittleEndian(b[at..], OptionIfTsResol);
            BinaryPrimitives.WriteUInt16LittleEndian(b[(at + 2)..], 1);
            b[at + 4] = 9;
            at += 8;
            BinaryPrimitives.WriteUInt16LittleEndian(b[at..], OptionEnd);
            at += 4;
            BinaryPrimitives.WriteUInt32LittleEndian(b[at..], (uint)total);
            _stream.Write(idb);
        }
    }

    public long PacketsWritten { get; private set; }

    public void Write(ushort port, ReadOnlySpan<byte> frame, long timestampNanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(port, _interfaces);
        int captured = Math.Min(frame.Length, PcapFormat.MaxRecordLength);
        int padding = Pad4(captured) - captured;
        uint total = (uint)(28 + captured + padding + 4);
        Span<byte> head = stackalloc byte[28];
        BinaryPrimitives.WriteUInt32LittleEndian(head, EnhancedPacketBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], total);
        BinaryPrimitives.WriteUInt32LittleEndian(head[8..], port);
        BinaryPrimitives.WriteUInt32LittleEndian(head[12..], (uint)((ulong)timestampNanoseconds >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(head[16..], (uint)timestampNanoseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(head[20..], (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(head[24..], (uint)frame.Length);
        _stream.Write(head);
        _stream.Write(frame[..captured]);
        Span<byte> tail = stackalloc byte[8];
        tail.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(tail[padding..], total);
        _stream.Write(tail[..(padding + 4)]);
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

    private static int Pad4(int length) => (length + 3) & ~3;
}
