using Dataplane.Io.Pcap;
using Dataplane.Pipeline;

namespace Dataplane.Replay;

/// <summary>Writes each port's output to <c>&lt;dir&gt;/&lt;port&gt;.pcap</c>, creating a file only for ports that send something.</summary>
public sealed class PcapPortWriters(string directory, IReadOnlyList<Port> ports) : IDisposable
{
    private readonly PcapFileWriter?[] _writers = new PcapFileWriter?[ports.Count];

    public IEnumerable<(string Port, string Path, long Packets)> Written
        => _writers.Where(static w => w is not null).Select((w, _) => (System.IO.Path.GetFileNameWithoutExtension(w!.Path), w!.Path, w!.PacketsWritten));

    public void Write(ushort port, ReadOnlySpan<byte> frame, long timestamp)
    {
        PcapFileWriter? writer = _writers[port];
        if (writer is null)
        {
            string path = Path.Combine(directory, ports[port].Name + ".pcap");
            if (!PcapFileWriter.TryCreate(path, out writer, out PcapFileError? error))
            {
                throw new IOException(error!.ToString());
            }

            _writers[port] = writer;
        }

        writer!.Write(frame, timestamp);
    }

    public void Dispose()
    {
        foreach (PcapFileWriter? writer in _writers)
        {
            writer?.Dispose();
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
