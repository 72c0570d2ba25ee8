using System.Runtime.CompilerServices;

namespace Dataplane.Pipeline;

/// <summary>
/// A vector of up to <see cref="Capacity"/> packets: one pinned buffer cut into fixed slots, the metadata of
/// each, and the list of packets to transmit once the graph has run. Allocated once per worker; nothing in
/// it is allocated per packet. Pinned so the I/O layer can read() straight into a slot.
/// Packet i lives in slot i when the batch is filled in order (<see cref="TryAdd"/>, <see cref="CommitReceived"/>).
/// The io_uring worker instead keeps reads posted into <see cref="SlotCount"/> slots (more than it has packets)
/// and adds each frame where its read landed (<see cref="CommitReceivedInSlot"/>); <see cref="SlotOf"/> says where.
/// </summary>
public sealed class PacketBatch
{
    /// <summary>Bytes kept free before each frame so a stage can prepend headers in place (an ICMP error wraps the datagram it answers).</summary>
    public const int DefaultHeadroom = 128;

    /// <summary>
    /// Slots after <see cref="SlotCount"/> kept for frames the graph makes itself (<see cref="Graph.Poll"/>): no
    /// receive is ever posted there, so an io_uring worker's reads cannot land on them. A worker that recycles
    /// slots after transmit leaves slots at or above <see cref="SlotCount"/> alone (they were never provided to
    /// the kernel). They are used in turn across batches, so a frame written asynchronously stays intact until
    /// <see cref="OriginSlots"/> more frames have been made; a worker whose writes may be in flight longer must
    /// hold off <see cref="Graph.Poll"/> until they complete.
    /// </summary>
    public const int OriginSlots = 8;

    private readonly byte[] _buffer;
    private readonly PacketMeta[] _meta;
    private readonly ushort[] _transmit;
    private readonly int[] _slot;
    private int _originatedInBatch;
    private int _nextOriginSlot;

    public PacketBatch(int capacity, int slotSize = 2048, int headroom = DefaultHeadroom, int slotCount = 0)
    {
        slotCount = slotCount == 0 ? capacity : slotCount;
        if (capacity is < 1 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "a batch holds 1..256 packets");
        }

        if (slotSize < headroom + 1518)
        {
            throw new ArgumentOutOfRangeException(nameof(slotSize), slotSize, $"slots must hold headroom ({headroom}) plus a 1518-byte frame");
        }

        if (slotCount < capacity || slotCount > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(slotCount), slotCount, $"a batch of {capacity} needs {capacity}..{ushort.MaxValue} slots");
        }

        Capacity = capacity;
        SlotSize = slotSize;
        Headroom = headroom;
        SlotCount = slotCount;
        _buffer = GC.AllocateUninitializedArray<byte>(checked((slotCount + OriginSlots) * slotSize), pinned: true);
        _meta = new PacketMeta[capacity];
        _transmit = new ushort[capacity];
        _slot = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _slot[i] = i;
        }
    }

    public int Capacity { get; }

    /// <summary>Slots in the buffer: <see cref="Capacity"/> unless the I/O layer asked for more to keep reads posted into.</summary>
    public int SlotCount { get; }

    public int SlotSize { get; }

    public int Headroom { get; }

    /// <summary>Largest frame a slot takes.</summary>
    public int MaxFrameLength => SlotSize - Headroom;

    public int Count { get; private set; }

    public bool IsFull => Count == Capacity;

    /// <summary>Packets the graph handed to output, in the order they reached it.</summary>
    public ReadOnlySpan<ushort> Transmit => _transmit.AsSpan(0, TransmitCount);

    public int TransmitCount { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref PacketMeta Meta(int index) => ref _meta[index];

    /// <summary>The frame's bytes as they are now.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Frame(int index)
    {
        ref PacketMeta meta = ref _meta[index];
        return _buffer.AsSpan((_slot[index] * SlotSize) + meta.Offset, meta.Length);
    }

    /// <summary>The frame with <paramref name="prefix"/> bytes of headroom in front (where the daemon keeps the virtio-net header).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> FrameWithPrefix(int index, int prefix)
    {
        ref PacketMeta meta = ref _meta[index];
        return _buffer.AsSpan((_slot[index] * SlotSize) + meta.Offset - prefix, meta.Length + prefix);
    }

    /// <summary>The whole slot of packet <paramref name="index"/>, for stages that grow or move a frame within it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Slot(int index) => _buffer.AsSpan(_slot[index] * SlotSize, SlotSize);

    /// <summary>The slot packet <paramref name="index"/> lives in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int SlotOf(int index) => _slot[index];

    /// <summary>
    /// Slot <paramref name="slot"/>'s receive space, as <see cref="NextReceiveSpace"/> gives it, whether or not a
    /// packet of this batch lives there: the io_uring worker posts reads into it while other slots are in use.
    /// </summary>
    public Span<byte> ReceiveSpaceOfSlot(int slot, int prefix) => _buffer.AsSpan((slot * SlotSize) + Headroom - prefix, MaxFrameLength + prefix);

    /// <summary>Empties the batch for the next receive.</summary>
    public void Clear()
    {
        Count = 0;
        TransmitCount = 0;
        _originatedInBatch = 0;
    }

    /// <summary>
    /// Adds an empty packet in one of the <see cref="OriginSlots"/>, flagged <see cref="PacketFlags.Originated"/>,
    /// for a stage to write a frame of its own into (from <see cref="PacketMeta.Offset"/> in <see cref="Slot"/>).
    /// False when the batch or the reserved slots are full.
    /// </summary>
    internal bool TryAddOriginated(long timestamp, out ushort index)
    {
        if (Count == Capacity || _originatedInBatch == OriginSlots)
        {
            index = 0;
            return false;
        }

        _originatedInBatch++;
        index = (ushort)Count++;
        _slot[index] = SlotCount + _nextOriginSlot;
        _nextOriginSlot = (_nextOriginSlot + 1) % OriginSlots;
        Init(index, 0, PortIds.None, timestamp);
        _meta[index].Flags = PacketFlags.Originated;
        return true;
    }

    /// <summary>
    /// Copies a received frame into the next slot. False when the batch is full or the frame does not fit a
    /// slot (the caller counts it; nothing is truncated silently).
    /// </summary>
    public bool TryAdd(ReadOnlySpan<byte> frame, ushort rxPort, long timestamp)
    {
        if (Count == Capacity || frame.Length > MaxFrameLength)
        {
            return false;
        }

        int index = Count++;
        _slot[index] = index;
        frame.CopyTo(_buffer.AsSpan((index * SlotSize) + Headroom));
        Init(index, frame.Length, rxPort, timestamp);
        return true;
    }

    /// <summary>
    /// The space the I/O layer reads the next frame into: from <paramref name="prefix"/> bytes before the
    /// headroom's end (room for a virtio-net header) to the end of the slot. Empty when the batch is full.
    /// </summary>
    public Span<byte> NextReceiveSpace(int prefix) => Count == Capacity ? default : _buffer.AsSpan((Count * SlotSize) + Headroom - prefix, MaxFrameLength + prefix);

    /// <summary>Commits a frame of <paramref name="length"/> bytes (prefix not included) read into <see cref="NextReceiveSpace"/>.</summary>
    public ref PacketMeta CommitReceived(int length, ushort rxPort, long timestamp)
    {
        int index = Count++;
        _slot[index] = index;
        Init(index, length, rxPort, timestamp);
        return ref _meta[index];
    }

    /// <summary>
    /// Adds the frame of <paramref name="length"/> bytes (prefix not included) read into <see cref="ReceiveSpaceOfSlot"/>
    /// of <paramref name="slot"/> as the next packet. The caller keeps each slot in at most one packet at a time
    /// and does not mix this with <see cref="TryAdd"/> or <see cref="CommitReceived"/> in one batch.
    /// </summary>
    public ref PacketMeta CommitReceivedInSlot(int slot, int length, ushort rxPort, long timestamp)
    {
        if ((uint)slot >= (uint)SlotCount || Count == Capacity)
        {
            throw new InvalidOperationException($"slot {slot} of {SlotCount}, batch at {Count} of {Capacity}");
        }

        int index = Count++;
        _slot[index] = slot;
        Init(index, length, rxPort, timestamp);
        return ref _meta[index];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AddTransmit(ushort index) => _transmit[TransmitCount++] = index;

    private void Init(int index, int length, ushort rxPort, long timestamp)
    {
        _meta[index] = new PacketMeta
        {
            Offset = Headroom,
            Length = length,
            Timestamp = timestamp,
            RxPort = rxPort,
            TxPort = PortIds.None,
        };
    }
}
