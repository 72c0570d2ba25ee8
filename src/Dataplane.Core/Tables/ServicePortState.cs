namespace Dataplane.Tables;

/// <summary>
/// The mutable part of a service port, shared by all its successive snapshots so counters and the round-robin
/// position survive endpoint changes. Updated with interlocked operations by any worker; only new flows touch it.
/// </summary>
internal sealed class ServicePortState
{
    public long NewFlows;
    public long NoBackend;
    public long AffinityHits;
    public long AffinityMisses;
    public long AffinityExpired;
    public long AffinityFull;
    public int RoundRobinCursor = -1;

    public ServicePortCounters Read() => new(
        Volatile.Read(ref NewFlows),
        Volatile.Read(ref NoBackend),
        Volatile.Read(ref AffinityHits),
        Volatile.Read(ref AffinityMisses),
        Volatile.Read(ref AffinityExpired),
        Volatile.Read(ref AffinityFull));
}
