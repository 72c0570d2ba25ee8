using Dataplane.Io.Pcap;

namespace Dataplane.Replay;

/// <summary>Pcap files merged by timestamp, each bound to a port (`--in web-1=a.pcap`).</summary>
public sealed class PcapReplaySource : IReplaySource, IDisposable
{
    private readonly PcapMerger _merger;
    private readonly ushort[] _ports;

    public PcapReplaySource(IReadOnlyList<(ushort Port, IPcapSource Source)> inputs)
    {
        _ports = [.. inputs.Select(static i => i.Port)];
        _merger = new PcapMerger(inputs.Select(static i => (i.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), i.Source)));
    }

    /// <summary>Set when reading stopped because a file is corrupt (names the file, record and offset).</summary>
    public PcapFileError? Failure => _merger.Failure;

    public bool TryRead(out ushort port, out long timestampNanoseconds, out ReadOnlySpan<byte> frame)
    {
        if (!_merger.TryReadNext(out int input, out PcapRecord record))
        {
            port = 0;
            timestampNanoseconds = 0;
            frame = default;
            return false;
        }

        port = _ports[input];
        timestampNanoseconds = record.TimestampNanoseconds;
        frame = record.Frame.Span;
        return true;
    }

    public void Dispose() => _merger.Dispose();
}
