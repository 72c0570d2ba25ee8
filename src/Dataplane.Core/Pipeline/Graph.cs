using System.Runtime.CompilerServices;

namespace Dataplane.Pipeline;

/// <summary>
/// Runs a batch through the stages, VPP style: every stage gets all its packets of the batch in one call.
/// Stages are kept in topological order (a stage only sends to later stages, checked at construction), so one
/// pass over the stages in order moves every packet to its end. One graph per worker thread; it allocates
/// nothing after construction.
/// </summary>
public sealed class Graph
{
    private readonly Node[] _nodes;
    private readonly ushort[][] _frames;
    private readonly int[] _frameCounts;
    private readonly long[] _traceIds;
    private readonly PortTable _ports;
    private readonly ushort[] _origin;
    private readonly IOriginatingNode[] _originators;

    /// <summary>Built by <see cref="GraphDefinition{TContext}.Build"/>: <paramref name="edges"/>[i] are stage i's next stages by position.</summary>
    internal Graph(Node[] nodes, int[][] edges, PacketBatch batch, PortTable ports, PacketTracer? tracer)
    {
        _nodes = nodes;
        Batch = batch;
        Tracer = tracer ?? new PacketTracer();
        // One per possible port id: a pod added at run time has its counters already (PortTable.Capacity).
        PortCounters = new PortCounters[ports.Capacity];
        _ports = ports;
        _frames = new ushort[_nodes.Length][];
        _frameCounts = new int[_nodes.Length];
        _traceIds = new long[batch.Capacity];
        _origin = new ushort[batch.Capacity];
        var originators = new List<IOriginatingNode>();
        for (int i = 0; i < _nodes.Length; i++)
        {
            _frames[i] = new ushort[batch.Capacity];
            foreach (int next in edges[i])
            {
                if (next <= i)
                {
                    throw new ArgumentException($"stage '{_nodes[i].Name}' sends to '{_nodes[next].Name}', which runs before it", nameof(edges));
                }
            }

            _nodes[i].Attach(i, [.. edges[i]]);
            if (_nodes[i] is IOriginatingNode originator)
            {
                originators.Add(originator);
            }
        }

        _originators = [.. originators];
    }

    public PacketBatch Batch { get; }

    public PacketTracer Tracer { get; }

    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>Per-port counters of this worker, indexed by port id.</summary>
    public PortCounters[] PortCounters { get; }

    /// <summary>Batches run (VPP's "vectors"): packets / batches is the average vector size.</summary>
    public long Batches { get; private set; }

    public T Node<T>()
        where T : Node
    {
        foreach (Node node in _nodes)
        {
            if (node is T match)
            {
                return match;
            }
        }

        throw new InvalidOperationException($"the graph has no {typeof(T).Name}");
    }

    /// <summary>Moves every packet of <see cref="Batch"/> through the stages. Output ends up in <see cref="PacketBatch.Transmit"/>.</summary>
    public void Run()
    {
        int count = Batch.Count;
        if (count == 0)
        {
            return;
        }

        Batches++;
        bool traced = false;
        bool tracing = Tracer.BeginBatch();
        ushort[] first = _frames[0];
        int received = 0;
        PortCounters[] ports = PortCounters;
        for (int i = 0; i < count; i++)
        {
            ref PacketMeta meta = ref Batch.Meta(i);
            if (tracing && Tracer.TryPick(ref meta, Batch.Frame(i), out _traceIds[i]))
            {
                traced = true;
            }

            if ((meta.Flags & PacketFlags.Originated) != 0)
            {
                Enqueue(_origin[i], (ushort)i);
                continue;
            }

            ref PortCounters port = ref ports[meta.RxPort];
            port.RxPackets++;
            port.RxBytes += meta.Length;
            first[received++] = (ushort)i;
        }

        _frameCounts[0] = received;
        for (int n = 0; n < _nodes.Length; n++)
        {
            int frameCount = _frameCounts[n];
            if (frameCount == 0)
            {
                continue;
            }

            _frameCounts[n] = 0;
            ReadOnlySpan<ushort> frame = _frames[n].AsSpan(0, frameCount);
            Node node = _nodes[n];
            NodeCounters counters = node.Counters;
            counters.Packets += frameCount;
            long bytes = 0;
            foreach (ushort p in frame)
            {
                bytes += Batch.Meta(p).Length;
            }

            counters.Bytes += bytes;
            if (traced)
            {
                node.Process<TraceOn>(this, frame);
            }
            else
            {
                node.Process<TraceOff>(this, frame);
            }
        }

        if (traced)
        {
            Tracer.EndBatch();
        }
    }

    /// <summary>
    /// Lets the stages that make frames of their own (<see cref="IOriginatingNode"/>: neighbor-probe's ARP requests
    /// and neighbor solicitations) add the frames due at <paramref name="now"/> to <see cref="Batch"/>. The worker
    /// calls it once per loop with the pipeline clock; when it returns true the batch holds new frames, and the
    /// worker runs and flushes it as it does received ones (<see cref="Run"/>, <see cref="Flush"/>, then
    /// <see cref="PacketBatch.Clear"/>), so they are counted, traced and captured like every other frame.
    /// The frames sit in slots no receive ever uses (<see cref="PacketBatch.OriginSlots"/>).
    /// </summary>
    public bool Poll(long now)
    {
        int before = Batch.Count;
        foreach (IOriginatingNode originator in _originators)
        {
            originator.Poll(this, now);
        }

        return Batch.Count != before;
    }

    /// <summary>
    /// A new packet made by <paramref name="origin"/> (empty, in a slot reserved for originated frames), which the
    /// next <see cref="Run"/> hands to that stage first. False when the batch has no room: try again next poll.
    /// </summary>
    public bool TryOriginate(Node origin, long now, out ushort packet)
    {
        if (!Batch.TryAddOriginated(now, out packet))
        {
            return false;
        }

        _origin[packet] = (ushort)origin.Index;
        return true;
    }

    /// <summary>
    /// Hands the batch's output to <paramref name="sink"/>, expanding floods to every pod port but the ingress
    /// one, and counts TX per port. The frame bytes are shared by all copies of a flood: no copy is made.
    /// </summary>
    public void Flush<TSink>(ref TSink sink)
        where TSink : struct, ITransmitSink
    {
        PortCounters[] ports = PortCounters;
        ushort[] floodPorts = _ports.FloodPorts;
        foreach (ushort p in Batch.Transmit)
        {
            ref PacketMeta meta = ref Batch.Meta(p);
            if (meta.TxPort != PortIds.Flood)
            {
                if ((meta.Flags & PacketFlags.Train) != 0)
                {
                    SendTrain(ref sink, ref ports[meta.TxPort], meta.TxPort, p);
                    continue;
                }

                Send(ref sink, ref ports[meta.TxPort], meta.TxPort, p, meta.Length);
                continue;
            }

            foreach (ushort port in floodPorts)
            {
                if (port != meta.RxPort)
                {
                    Send(ref sink, ref ports[port], port, p, meta.Length);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Send<TSink>(ref TSink sink, ref PortCounters counters, ushort port, ushort packet, int length)
        where TSink : struct, ITransmitSink
    {
        if (sink.Send(port, Batch, packet))
        {
            counters.TxPackets++;
            counters.TxBytes += length;
        }
        else
        {
            counters.TxErrors++;
        }
    }

    /// <summary>
    /// Sends each frame of a <see cref="SegmentTrain"/> as a packet of its own: the packet's offset and length point at
    /// one frame at a time while the sink takes it (a sink that queues the write keeps the address, not the meta).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SendTrain<TSink>(ref TSink sink, ref PortCounters counters, ushort port, ushort packet)
        where TSink : struct, ITransmitSink
    {
        ref PacketMeta meta = ref Batch.Meta(packet);
        int first = meta.Offset, firstLength = meta.Length;
        Span<byte> slot = Batch.Slot(packet);
        do
        {
            Send(ref sink, ref counters, port, packet, meta.Length);
        }
        while (SegmentTrain.Next(slot, ref meta.Offset, ref meta.Length));

        meta.Offset = first;
        meta.Length = firstLength;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Enqueue(int node, ushort packet) => _frames[node][_frameCounts[node]++] = packet;

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void TraceIfFlagged(ushort packet, TraceRecord record)
    {
        if ((Batch.Meta(packet).Flags & PacketFlags.Traced) != 0)
        {
            Tracer.Add(record with { PacketId = _traceIds[packet] });
        }
    }

    /// <summary>Lets a stage add a record of its own (beyond the forward/drop record), e.g. "rewrote dst".</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Trace<TTrace>(Node node, ushort packet, ushort code, long a = 0, long b = 0)
        where TTrace : struct, ITraceMode
    {
        if (TTrace.Enabled)
        {
            TraceIfFlagged(packet, new TraceRecord(0, (ushort)node.Index, (ushort)node.Index, code, a, b));
        }
    }
}
