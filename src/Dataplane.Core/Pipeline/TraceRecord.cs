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
    public const ushort Dropped = ushort.MaxValue;
    public const ushort Transmitted = ushort.MaxValue - 1;
}
