namespace Dataplane.Pipeline;

/// <summary>Per-port packet and byte counters of one worker (summed across workers for display).</summary>
public struct PortCounters
{
    public long RxPackets;
    public long RxBytes;
    public long TxPackets;
    public long TxBytes;

    /// <summary>Frames that could not be written (full TAP queue, port gone), counted by the I/O layer.</summary>
    public long TxErrors;

    /// <summary>Frames received on this port that a stage dropped (one increment on the drop path, none when forwarding).</summary>
    public long RxDrops;

    public void Add(in PortCounters other)
    {
        RxPackets += other.RxPackets;
        RxBytes += other.RxBytes;
        TxPackets += other.TxPackets;
        TxBytes += other.TxBytes;
        TxErrors += other.TxErrors;
        RxDrops += other.RxDrops;
    }
}
