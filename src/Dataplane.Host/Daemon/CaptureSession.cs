using System.Threading.Channels;
using Dataplane.Io.Pcap;
using Dataplane.Pipeline;

namespace Dataplane.Daemon;

/// <summary>
/// `ctl capture`: copies what a port (or every port) receives and sends into a capture stream, like tcpdump on an
/// internal port. Workers copy frames into a fixed ring of preallocated buffers (no allocation on their side; a
/// full ring drops the copy and counts it, never the packet); a writer task drains the ring into the writer.
/// An optional filter (a libpcap-compiled pcap-filter expression) picks the frames, on the worker, before the copy.
/// </summary>
public sealed class CaptureSession : IDisposable
{
    private const int Snap = 65536;

    private readonly Channel<int> _filled;
    private readonly Channel<int> _free;
    private readonly byte[][] _buffers;
    private readonly int[] _lengths;
    private readonly long[] _timestamps;
    private readonly ushort[] _ports;
    private readonly ICaptureWriter _writer;
    private readonly IFrameFilter? _filter;
    private readonly long _limit;
    private long _accepted;
    private long _dropped;
    private volatile Exception? _writeFailure;

    public CaptureSession(ICaptureWriter writer, long maxPackets, IFrameFilter? filter = null, int ringSize = 1024)
    {
        _writer = writer;
        _filter = filter;
        _limit = maxPackets;
        _buffers = new byte[ringSize][];
        _lengths = new int[ringSize];
        _timestamps = new long[ringSize];
        _ports = new ushort[ringSize];
        _filled = Channel.CreateBounded<int>(new BoundedChannelOptions(ringSize) { SingleReader = true });
        _free = Channel.CreateBounded<int>(ringSize);
        for (int i = 0; i < ringSize; i++)
        {
            _buffers[i] = GC.AllocateUninitializedArray<byte>(2048);
            _free.Writer.TryWrite(i);
        }

        Completion = Task.Run(DrainAsync);
    }

    public long Written => _writer.PacketsWritten;

    /// <summary>Copies the capture could not keep because the writer fell behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Done: as many frames as asked for were taken, or the reader went away.</summary>
    public bool IsComplete => Interlocked.Read(ref _accepted) >= _limit || _writeFailure is not null;

    /// <summary>Why writing stopped early (the client closed the stream), or null.</summary>
    public Exception? WriteFailure => _writeFailure;

    public Task Completion { get; }

    /// <summary>
    /// Called by workers for each frame port <paramref name="port"/> receives or sends, <paramref name="timestamp"/>
    /// on the <see cref="PipelineClock"/>. Never blocks.
    /// </summary>
    public void Offer(ushort port, ReadOnlySpan<byte> frame, long timestamp)
    {
        if (_filter is { } filter && !filter.Matches(frame))
        {
            return;
        }

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
        _ports[slot] = port;
        _filled.Writer.TryWrite(slot);
    }

    /// <summary>No more frames will be offered; the writer finishes the queued ones.</summary>
    public void Complete() => _filled.Writer.TryComplete();

    private async Task DrainAsync()
    {
        await foreach (int slot in _filled.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (_writeFailure is null)
            {
                try
                {
                    // Frames are stamped on the pipeline's monotonic clock; a pcap record holds Unix time.
                    _writer.Write(_ports[slot], _buffers[slot].AsSpan(0, _lengths[slot]), PipelineClock.ToUnixNanoseconds(_timestamps[slot]));
                    if (_filled.Reader.Count == 0)
                    {
                        // Caught up: let a reader downstream (tshark on a pipe) see the frames now.
                        _writer.Flush();
                    }
                }
                catch (IOException e)
                {
                    _writeFailure = e;
                }
            }

            _free.Writer.TryWrite(slot);
        }
    }

    public void Dispose()
    {
        Complete();
        Completion.GetAwaiter().GetResult();
        try
        {
            _writer.Dispose();
        }
        catch (IOException e)
        {
            _writeFailure ??= e;
        }
    }
}
