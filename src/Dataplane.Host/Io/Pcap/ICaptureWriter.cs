namespace Dataplane.Io.Pcap;

/// <summary>Where `ctl capture` puts frames: a classic pcap stream for one port, or pcapng with one interface per port.</summary>
public interface ICaptureWriter : IDisposable
{
    long PacketsWritten { get; }

    void Write(ushort port, ReadOnlySpan<byte> frame, long timestampNanoseconds);

    /// <summary>Pushes what is buffered to the reader (a pipe into tshark sees the frames now, not at the end).</summary>
    void Flush();
}
