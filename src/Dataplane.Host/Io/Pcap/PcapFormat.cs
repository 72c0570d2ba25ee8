namespace Dataplane.Io.Pcap;

// The classic libpcap file format (pcap-savefile(5), draft-ietf-opsawg-pcap). Every field is written in the
// byte order of the machine that wrote the file; the magic number says which, and whether the fraction of the
// timestamp counts microseconds or nanoseconds.
//
// File header, 24 bytes:
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                          Magic Number                         |  0
// +-------------------------------+-------------------------------+
// |         Major Version         |         Minor Version         |  4
// +-------------------------------+-------------------------------+
// |                      Reserved1 (thiszone)                     |  8
// +---------------------------------------------------------------+
// |                      Reserved2 (sigfigs)                      | 12
// +---------------------------------------------------------------+
// |                            SnapLen                            | 16
// +-------+-+-----------------------+-----------------------------+
// |  FCS  |f|        reserved       |           LinkType          | 20
// +-------+-+-----------------------+-----------------------------+
//
// Each record: a 16-byte header followed by CapturedLength bytes of frame.
// +---------------------------------------------------------------+
// |                      Timestamp (seconds)                      |  0
// +---------------------------------------------------------------+
// |            Timestamp (microseconds or nanoseconds)            |  4
// +---------------------------------------------------------------+
// |                 Captured Packet Length (incl_len)             |  8
// +---------------------------------------------------------------+
// |                 Original Packet Length (orig_len)             | 12
// +---------------------------------------------------------------+
internal static class PcapFormat
{
    public const int FileHeaderLength = 24;
    public const int SnapLengthOffset = 16;
    public const int LinkTypeOffset = 20;

    public const int RecordHeaderLength = 16;
    public const int SecondsOffset = 0;
    public const int FractionOffset = 4;
    public const int CapturedLengthOffset = 8;
    public const int OriginalLengthOffset = 12;

    // Magic numbers as read with a little-endian load of the first four bytes.
    public const uint MicrosecondsLittleEndian = 0xA1B2C3D4;
    public const uint MicrosecondsBigEndian = 0xD4C3B2A1;
    public const uint NanosecondsLittleEndian = 0xA1B23C4D;
    public const uint NanosecondsBigEndian = 0x4D3CB2A1;

    // A pcapng file starts with a Section Header Block, whose block type reads the same in both byte orders.
    public const uint PcapNgSectionHeaderBlock = 0x0A0D0D0A;

    // The LinkType field's low 26 bits; the top bits may carry an FCS length we do not use.
    public const uint LinkTypeMask = 0x03FFFFFF;
    public const uint LINKTYPE_ETHERNET = 1;

    // libpcap's MAXIMUM_SNAPLEN: it rejects larger records as corrupt, and so do we, so that a garbage length
    // can never make a reader buffer gigabytes.
    public const int MaxRecordLength = 262144;
}
