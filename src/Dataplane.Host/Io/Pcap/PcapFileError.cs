namespace Dataplane.Io.Pcap;

/// <summary>
/// Why a capture file could not be opened or read to its end. Errors are values: readers return false and
/// expose one of these rather than throwing from the packet loop.
/// </summary>
/// <param name="Path">The file, as the caller named it.</param>
/// <param name="Reason">What is wrong, in words an operator can act on.</param>
/// <param name="RecordIndex">Zero-based index of the bad record, or -1 when the error is not about a record.</param>
/// <param name="ByteOffset">File offset of the bad record's header, or -1 when unknown.</param>
public sealed record PcapFileError(string Path, string Reason, long RecordIndex = -1, long ByteOffset = -1)
{
    public override string ToString() => (RecordIndex, ByteOffset) switch
    {
        ( < 0, _) => $"{Path}: {Reason}",
        (_, < 0) => $"{Path}: record {RecordIndex}: {Reason}",
        _ => $"{Path}: record {RecordIndex} at byte offset {ByteOffset}: {Reason}",
    };
}
