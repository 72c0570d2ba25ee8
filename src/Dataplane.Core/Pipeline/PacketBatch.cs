using System.Runtime.CompilerServices;

namespace Dataplane.Pipeline;

/// <summary>
/// A vector of up to <see cref="Capacity"/> packets: one pinned buffer cut into fixed slots, the metadata of
/// each, and the list of packets to transmit once the graph has run. Allocated once per worker; nothing in
/// it is allocated per packet. Pinned so the I/O layer can read() straight into a slot.
/// </summary>
public sealed class PacketBatch
{
    /// <summary>Bytes kept free before each frame so a stage can prepend headers in place (an ICMP error wraps the datagram it answers).</summary>
    public const int DefaultHeadroom = 128;

    private readonly byte[] _buffer;
    private readonly PacketMeta[] _meta;
    private readonly ushort[] _transmit;

    public PacketBatch(int capacity, int slotSize = 2048, int headroom = DefaultHeadroom)
    {
        if (capacity is < 1 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "a batch holds 1..256 packets");
        }

        if (slotSize < headroom + 1518)
        {
            throw new ArgumentOutOfRangeException(nameof(slotSize), slotSize, $"slots must hold headroom ({headroom}) plus a 1518-byte frame");
        }

        Capacity = capacity;
        SlotSize = slotSize;
        Headroom = headroom;
        _buffer = GC.AllocateUninitializedArray<byte>(capacity * slotSize, pinned: true);
        _meta = new PacketMeta[capacity];
        _transmit = new ushort[capacity];
    }

    public int Capacity { get; }

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
        return _buffer.AsSpan((index * SlotSize) + meta.Offset, meta.Length);
    }

    /// <summary>The frame with <paramref name="prefix"/> bytes of headroom in front (where the daemon keeps the virtio-net header).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> FrameWithPrefix(int index, int prefix)
    {
        ref PacketMeta meta = ref _meta[index];
        return _buffer.AsSpan((index * SlotSize) + meta.Offset - prefix, meta.Length + prefix);
    }

    /// <summary>The whole slot, for stages that grow or move a frame within it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Slot(int index) => _buffer.AsSpan(index * SlotSize, SlotSize);

    /// <summary>Empties the batch for the next receive.</summary>
    public void Clear()
    {
        Count = 0;
        TransmitCount = 0;
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
