namespace Dataplane.Io.Pcap;

/// <summary>
/// Frames read from one capture file, in file order: Ethernet, or Linux cooked (SLL, SLL2) as the record's
/// interface says. <see cref="PcapFiles.TryOpen"/> picks the
/// implementation from the file's magic number.
/// </summary>
public interface IPcapSource : IDisposable
{
    /// <summary>The file, as the caller named it; errors repeat it.</summary>
    string Path { get; }

    /// <summary>Records returned so far.</summary>
    long RecordsRead { get; }

    /// <summary>The interfaces seen so far (pcapng may add some between records); <see cref="PcapRecord.Interface"/> indexes it.</summary>
    IReadOnlyList<PcapInterface> Interfaces { get; }

    /// <summary>Records read despite breaking the format's rules, as libpcap reads them.</summary>
    PcapRepairs Repairs => default;

    /// <summary>Set once <see cref="TryReadNext"/> has returned false because the file is corrupt or unreadable.</summary>
    PcapFileError? Failure { get; }

    /// <summary>
    /// Reads the next record, whose frame stays valid until the next call or <see cref="IDisposable.Dispose"/>.
    /// Returns false at the end of the file and on an error; <see cref="Failure"/> tells the two apart.
    /// </summary>
    bool TryReadNext(out PcapRecord record);
}
