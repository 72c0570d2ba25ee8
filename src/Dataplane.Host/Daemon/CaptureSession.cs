using System.Threading.Channels;
using Dataplane.Io.Pcap;

namespace Dataplane.Daemon;

/// <summary>
/// `ctl capture`: copies what one port receives and sends into a pcap file, like tcpdump on an internal port.
/// Workers copy frames into a fixed ring of preallocated buffers (no allocation on their side; a full ring
/// drops the copy and counts it, never the packet); a writer task drains the ring into the file.
/// </summary>
public sealed class CaptureSession : IDisposable
{
    private const int Snap = 65536;

    private readonly Channel<int> _filled;
    private readonly Channel<int> _free;
    private readonly byte[][] _buffers;
    private readonly int[] _lengths;
    private readonly long[] _timestamps;
    private readonly PcapFileWriter _writer;
    private readonly long _limit;
    private long _accepted;
    private long _dropped;

    public CaptureSession(ushort port, PcapFileWriter writer, long maxPackets, int ringSize = 1024)
    {
        Port = port;
        _writer = writer;
        _limit = maxPackets;
        _buffers = new byte[ringSize][];
        _lengths = new int[ringSize];
        _timestamps = new long[ringSize];
        _filled = Channel.CreateBounded<int>(new BoundedChannelOptions(ringSize) { SingleReader = true });
        _free = Channel.CreateBounded<int>(ringSize);
        for (int i = 0; i < ringSize; i++)
        {
            _buffers[i] = GC.AllocateUninitializedArray<byte>(2048);
            _free.Writer.TryWrite(i);
        }

        Completion = Task.Run(DrainAsync);
    }

    public ushort Port { get; }

    public long Written => _writer.PacketsWritten;

    /// <summary>Copies the capture could not keep because the writer fell behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public bool IsComplete => Interlocked.Read(ref _accepted) >= _limit;

    public Task Completion { get; }

    /// <summary>Called by workers for each frame the port receives or sends, <paramref name="timestamp"/> on the <see cref="PipelineClock"/>. Never blocks.</summary>
    public void Offer(ReadOnlySpan<byte> frame, long timestamp)
    {
        if (Interlocked.Increment(ref _accepted) > _limit)
        {
            return;
        }

        if (!_free.Reader.TryRead(out int slot))
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        int length = Math.Min(frame.Length, Snap);
        if (_buffers[slot].Length < length)
        {
            // Rare (offloaded super-frames): grow this slot once, off the common path.
            _buffers[slot] = GC.AllocateUninitializedArray<byte>(Snap);
        }

        frame[..length].CopyTo(_buffers[slot]);
        _lengths[slot] = length;
        _timestamps[slot] = timestamp;
        _filled.Writer.TryWrite(slot);
    }

    /// <summary>No more frames will be offered; the writer finishes the queued ones.</summary>
    public void Complete() => _filled.Writer.TryComplete();

    private async Task DrainAsync()
    {
        await foreach (int slot in _filled.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            // Frames are stamped on the pipeline's monotonic clock; a pcap record holds Unix time.
            _writer.Write(_buffers[slot].AsSpan(0, _lengths[slot]), PipelineClock.ToUnixNanoseconds(_timestamps[slot]));
            _free.Writer.TryWrite(slot);
        }
    }

    public void Dispose()
    {
        Complete();
        Completion.GetAwaiter().GetResult();
        _writer.Dispose();
    }
}
