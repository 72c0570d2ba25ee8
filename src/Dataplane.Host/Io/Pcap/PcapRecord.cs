namespace Dataplane.Io.Pcap;

/// <summary>
/// One captured Ethernet frame. <see cref="Frame"/> borrows the reader's buffer: it is valid until the next
/// read from the same source (or the merger that owns it), so copy it to keep it.
/// </summary>
public readonly struct PcapRecord
{
    public PcapRecord(long timestampNanoseconds, int originalLength, ReadOnlyMemory<byte> frame, int interfaceIndex = 0)
    {
        Interface = interfaceIndex;
        TimestampNanoseconds = timestampNanoseconds;
        OriginalLength = originalLength;
        Frame = frame;
    }

    /// <summary>Capture time in nanoseconds since the Unix epoch.</summary>
    public long TimestampNanoseconds { get; }

    /// <summary>Length of the frame on the wire; larger than <c>Frame.Length</c> when the capture was cut at the snaplen.</summary>
    public int OriginalLength { get; }

    /// <summary>The captured bytes, starting at the link-layer header (Ethernet, or SLL/SLL2: see the interface's link type).</summary>
    public ReadOnlyMemory<byte> Frame { get; }

    /// <summary>Index into the source's <see cref="IPcapSource.Interfaces"/> (0 in a classic pcap file).</summary>
    public int Interface { get; }

    public bool IsCutShort => Frame.Length < OriginalLength;
}
