namespace Dataplane.Io.Pcap;

/// <summary>
/// Ethernet frames read from one capture file, in file order. <see cref="PcapFiles.TryOpen"/> picks the
/// implementation from the file's magic number.
/// </summary>
public interface IPcapSource : IDisposable
{
    /// <summary>The file, as the caller named it; errors repeat it.</summary>
    string Path { get; }

    /// <summary>Records returned so far.</summary>
    long RecordsRead { get; }

    /// <summary>Set once <see cref="TryReadNext"/> has returned false because the file is corrupt or unreadable.</summary>
    PcapFileError? Failure { get; }

    /// <summary>
    /// Reads the next record, whose frame stays valid until the next call or <see cref="IDisposable.Dispose"/>.
    /// Returns false at the end of the file and on an error; <see cref="Failure"/> tells the two apart.
    /// </summary>
    bool TryReadNext(out PcapRecord record);
}
