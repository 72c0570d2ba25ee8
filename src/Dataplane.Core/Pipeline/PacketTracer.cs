namespace Dataplane.Pipeline;

/// <summary>
/// Picks packets to trace (the next N received) and hands their stage records from the worker that writes them
/// to the thread that reads them (`ctl trace`), in a fixed ring, so tracing a busy node cannot grow memory. When
/// nothing is armed the graph runs the <see cref="TraceOff"/> bodies.
/// <para>
/// The hand-off happens at batch boundaries, the worker's safe points: the ring is single-producer,
/// single-consumer; the worker appends a batch's records past the published end and publishes them all at once
/// when the batch is done (one volatile store), so a reader only ever sees whole packets, each with every stage
/// it passed. The worker never writes over records the reader has not released with <see cref="Clear"/>: a
/// batch whose records do not fit in the free space is left out whole. Arming is a request the worker takes up
/// at its next batch. No lock, and nothing allocated, on the worker's side.
/// </para>
/// </summary>
public sealed class PacketTracer
{
    private readonly TraceRecord[] _ring;

    // Reader side (control threads, one at a time under _readLock): where unread records start.
    private readonly Lock _readLock = new();
    private long _head;

    // Worker side: records written (published or not), the published end, and the batch's write limit.
    private long _tail;
    private long _published;
    private long _limit;
    private bool _batchOverflowed;
    private long _nextPacketId;
    private int _remaining;
    private IFrameFilter? _filter;
    private IFrameFilter? _requestedFilter;

    // Arming: the reader sets the count and bumps the request; the worker takes it up at a batch start and says
    // when it has traced and published everything asked for.
    private int _requestedPackets;
    private int _request;
    private int _adopted;
    private int _finished;

    /// <param name="recordCapacity">Stage records the ring holds.</param>
    /// <param name="packetCapacity">Traced packets' arrival records it holds besides.</param>
    public PacketTracer(int recordCapacity = 8192, int packetCapacity = 1024)
    {
        _ring = new TraceRecord[recordCapacity + packetCapacity];
    }

    /// <summary>Packets still to be picked for tracing, as of the worker's last batch.</summary>
    public int Remaining => Volatile.Read(ref _remaining);

    /// <summary>The worker has taken up the last <see cref="Arm"/>, picked all its packets and published their records.</summary>
    public bool Finished => Volatile.Read(ref _finished) == Volatile.Read(ref _request);

    /// <summary>Only packets this filter matches are picked (null: every packet), as of the worker's last batch.</summary>
    public IFrameFilter? Filter => Volatile.Read(ref _filter);

    /// <summary>
    /// Trace the next <paramref name="packets"/> packets received (int.MaxValue: all of them); forgets older records.
    /// The worker starts at its next batch.
    /// </summary>
    public void Arm(int packets) => Arm(packets, null);

    /// <summary>Trace the next <paramref name="packets"/> packets received that <paramref name="filter"/> matches (null: any).</summary>
    public void Arm(int packets, IFrameFilter? filter)
    {
        Clear();
        Request(packets, filter);
    }

    /// <summary>Stops picking packets (from the worker's next batch); the records stay for reading.</summary>
    public void Disarm() => Request(0, null);

    /// <summary>Releases every published record to the worker (reader side).</summary>
    public void Clear()
    {
        lock (_readLock)
        {
            Volatile.Write(ref _head, Volatile.Read(ref _published));
        }
    }

    /// <summary>The published, not yet cleared records, oldest first: stage records and arrivals of whole packets only.</summary>
    public TraceSnapshot Read()
    {
        var packets = new List<TracedPacket>();
        var records = new List<TraceRecord>();
        lock (_readLock)
        {
            long end = Volatile.Read(ref _published);
            for (long i = _head; i < end; i++)
            {
                TraceRecord record = _ring[i % _ring.Length];
                if (record.Node == TraceRecord.Arrival)
                {
                    packets.Add(new TracedPacket(record.PacketId, record.Next, record.A, (int)record.B));
                }
                else
                {
                    records.Add(record);
                }
            }
        }

        return new TraceSnapshot(packets, records);
    }

    /// <summary>Stage records published and not cleared, oldest first.</summary>
    public IReadOnlyList<TraceRecord> Records() => Read().Records;

    /// <summary>Called by the graph before a batch: takes up a new arming; returns whether to pick packets.</summary>
    internal bool BeginBatch()
    {
        int request = Volatile.Read(ref _request);
        if (request != _adopted)
        {
            Adopt(request);
        }

        if (_remaining <= 0)
        {
            return false;
        }

        _limit = Volatile.Read(ref _head) + _ring.Length;
        return true;
    }

    /// <summary>Called by the graph after a batch in which packets were picked: publishes their records, whole or not at all.</summary>
    internal void EndBatch()
    {
        if (_batchOverflowed)
        {
            _tail = _published;
            _batchOverflowed = false;
        }
        else
        {
            Volatile.Write(ref _published, _tail);
        }

        if (_remaining <= 0)
        {
            Volatile.Write(ref _finished, _adopted);
        }
    }

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
    internal bool TryPick(ref PacketMeta meta, out long id)
    {
        if (_remaining <= 0)
        {
            id = -1;
            return false;
        }

        if (_remaining != int.MaxValue)
        {
            Volatile.Write(ref _remaining, _remaining - 1);
        }

        id = _nextPacketId++;
        meta.Flags |= PacketFlags.Traced;
        Add(new TraceRecord(id, TraceRecord.Arrival, meta.RxPort, 0, meta.Timestamp, meta.Length));
        return true;
    }

    internal void Add(in TraceRecord record)
    {
        if (_tail == _limit)
        {
            _batchOverflowed = true;
            return;
        }

        _ring[_tail % _ring.Length] = record;
        _tail++;
    }

    private void Request(int packets, IFrameFilter? filter)
    {
        Volatile.Write(ref _requestedFilter, filter);
        Volatile.Write(ref _requestedPackets, packets);
        Interlocked.Increment(ref _request);
    }

    private void Adopt(int request)
    {
        _adopted = request;
        Volatile.Write(ref _filter, Volatile.Read(ref _requestedFilter));
        Volatile.Write(ref _remaining, Volatile.Read(ref _requestedPackets));
        if (_remaining <= 0)
        {
            Volatile.Write(ref _finished, request);
        }
    }
}

/// <summary>What a traced packet looked like when it arrived.</summary>
public readonly record struct TracedPacket(long Id, ushort RxPort, long Timestamp, int Length);

/// <summary>Records a reader took from a <see cref="PacketTracer"/>: the traced packets' arrivals and their stage records, oldest first.</summary>
public sealed record TraceSnapshot(IReadOnlyList<TracedPacket> Packets, IReadOnlyList<TraceRecord> Records);
