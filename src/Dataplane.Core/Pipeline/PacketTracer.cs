namespace Dataplane.Pipeline;

/// <summary>
/// Picks packets to trace (the next N received) and keeps their stage records in a fixed ring, so tracing a
/// busy node cannot grow memory. When nothing is armed the graph runs the <see cref="TraceOff"/> bodies.
/// </summary>
public sealed class PacketTracer
{
    private readonly TraceRecord[] _ring;
    private readonly TracedPacket[] _packets;
    private long _written;
    private long _nextPacketId;
    private int _remaining;
    private IFrameFilter? _filter;

    public PacketTracer(int recordCapacity = 8192, int packetCapacity = 1024)
    {
        _ring = new TraceRecord[recordCapacity];
        _packets = new TracedPacket[packetCapacity];
    }

    /// <summary>Packets still to be picked for tracing.</summary>
    public int Remaining => Volatile.Read(ref _remaining);

    /// <summary>Records lost to ring wrap-around since the last <see cref="Arm"/>.</summary>
    public long Overwritten => Math.Max(0, _written - _ring.Length);

    /// <summary>Only packets this filter matches are picked (null: every packet); set by <see cref="Arm(int, IFrameFilter?)"/>.</summary>
    public IFrameFilter? Filter => _filter;

    /// <summary>Trace the next <paramref name="packets"/> packets received (int.MaxValue: all of them); forgets older records.</summary>
    public void Arm(int packets) => Arm(packets, null);

    /// <summary>Trace the next <paramref name="packets"/> packets received that <paramref name="filter"/> matches.</summary>
    public void Arm(int packets, IFrameFilter? filter)
    {
        _written = 0;
        _filter = filter;
        Volatile.Write(ref _remaining, packets);
    }

    /// <summary>Stops picking packets; the records stay for reading.</summary>
    public void Disarm() => Volatile.Write(ref _remaining, 0);

    /// <summary>Called at receive: flags the packet when tracing is armed (and the filter, if any, matches <paramref name="frame"/>). Returns whether it did.</summary>
    public bool TryPick(ref PacketMeta meta, ReadOnlySpan<byte> frame, out long id)
    {
        if (_filter is { } filter && _remaining > 0 && !filter.Matches(frame))
        {
            id = -1;
            return false;
        }

        return TryPick(ref meta, out id);
    }

    /// <summary>Called at receive: flags the packet when tracing is armed. Returns whether it did.</summary>
    public bool TryPick(ref PacketMeta meta, out long id)
    {
        if (_remaining <= 0)
        {
            id = -1;
            return false;
        }

        if (_remaining != int.MaxValue)
        {
            _remaining--;
        }

        id = _nextPacketId++;
        meta.Flags |= PacketFlags.Traced;
        _packets[id % _packets.Length] = new TracedPacket(id, meta.RxPort, meta.Timestamp, meta.Length);
        return true;
    }

    public void Add(in TraceRecord record)
    {
        _ring[_written % _ring.Length] = record;
        _written++;
    }

    /// <summary>Records still in the ring, oldest first.</summary>
    public IEnumerable<TraceRecord> Records()
    {
        long start = Math.Max(0, _written - _ring.Length);
        for (long i = start; i < _written; i++)
        {
            yield return _ring[i % _ring.Length];
        }
    }

    public bool TryGetPacket(long id, out TracedPacket packet)
    {
        packet = _packets[id % _packets.Length];
        return packet.Id == id && packet.Length != 0;
    }

    public void Clear() => _written = 0;
}

/// <summary>What a traced packet looked like when it arrived.</summary>
public readonly record struct TracedPacket(long Id, ushort RxPort, long Timestamp, int Length);
