using Dataplane.Io.Pcap;
using Dataplane.Pipeline;

namespace Dataplane.Replay;

/// <summary>
/// Writes each port's output to <c>&lt;dir&gt;/&lt;port&gt;.pcap</c>, creating a file only for ports that send something.
/// Through a <see cref="FileStream"/> rather than libpcap's pcap_dump, whose stdio buffering loses write errors: a full
/// file system must fail the replay (an <see cref="IOException"/>), not leave a silently truncated capture.
/// </summary>
public sealed class PcapPortWriters(ReplayOutputDirectory directory, IReadOnlyList<Port> ports) : IDisposable
{
    private readonly PcapStreamWriter?[] _writers = new PcapStreamWriter?[ports.Count];
    private readonly string?[] _paths = new string?[ports.Count];

    public IEnumerable<(string Port, string Path, long Packets)> Written
        => _writers.Select((w, i) => (Writer: w, Index: i)).Where(static w => w.Writer is not null)
            .Select(w => (ports[w.Index].Name, _paths[w.Index]!, w.Writer!.PacketsWritten));

    public void Write(ushort port, ReadOnlySpan<byte> frame, long timestamp)
    {
        PcapStreamWriter? writer = _writers[port];
        if (writer is null)
        {
            string path = directory.File(ports[port].Name + ".pcap");
            _paths[port] = path;
            writer = _writers[port] = new PcapStreamWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read));
        }

        writer.Write(port, frame, timestamp);
    }

    /// <summary>Flushes and closes every file; the first write error is thrown after all of them are closed.</summary>
    public void Dispose()
    {
        Exception? first = null;
        foreach (PcapStreamWriter? writer in _writers)
        {
            try
            {
                writer?.Dispose();
            }
            catch (IOException e)
            {
                first ??= e;
            }
        }

        if (first is not null)
        {
            throw first;
        }
    }

    /// <summary>The graph's sink: output keeps the input frame's timestamp.</summary>
    public readonly struct Sink(PcapPortWriters writers) : ITransmitSink
    {
        public bool Send(ushort port, PacketBatch batch, ushort packet)
        {
            writers.Write(port, batch.Frame(packet), batch.Meta(packet).Timestamp);
            return true;
        }
    }
}
