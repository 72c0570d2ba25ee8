namespace Dataplane.Io.Pcap;

/// <summary>
/// One captured Ethernet frame. <see cref="Frame"/> borrows the reader's buffer: it is valid until the next
/// read from the same source (or the merger that owns it), so copy it to keep it.
/// </summary>
public readonly struct PcapRecord
{
    public PcapRecord(long timestampNanoseconds, int originalLength, ReadOnlyMemory<byte> frame)
    {
        TimestampNanoseconds = timestampNanoseconds;
        OriginalLength = originalLength;
        Frame = frame;
    }

    /// <summary>Capture time in nanoseconds since the Unix epoch.</summary>
    public long TimestampNanoseconds { get; }

    /// <summary>Length of the frame on the wire; larger than <c>Frame.Length</c> when the capture was cut at the snaplen.</summary>
    public int OriginalLength { get; }

    /// <summary>The captured bytes, starting at the Ethernet header.</summary>
    public ReadOnlyMemory<byte> Frame { get; }

    public bool IsCutShort => Frame.Length < OriginalLength;
}
