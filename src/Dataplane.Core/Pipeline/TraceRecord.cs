namespace Dataplane.Pipeline;

/// <summary>
/// What one stage did to one traced packet. Plain numbers, formatted later by the stage that wrote them
/// (<see cref="Node.FormatTrace"/>), so recording allocates nothing.
/// </summary>
public readonly record struct TraceRecord(
    long PacketId,
    ushort Node,
    /// <summary>Graph index of the next stage, or <see cref="Dropped"/> / <see cref="Transmitted"/>.</summary>
    ushort Next,
    /// <summary>Stage-specific event code, or the drop reason when <see cref="Next"/> is <see cref="Dropped"/>.</summary>
    ushort Code,
    long A,
    long B)
{
    /// <summary>In <see cref="Node"/>: the packet's arrival, with <see cref="Next"/> its RX port, A its timestamp, B its length.</summary>
    public const ushort Arrival = ushort.MaxValue;

    public const ushort Dropped = ushort.MaxValue;
    public const ushort Transmitted = ushort.MaxValue - 1;
}
