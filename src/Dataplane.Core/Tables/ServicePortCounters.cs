namespace Dataplane.Tables;

/// <summary>What happened to new flows at one service port (a copy, for <c>ctl services</c> and metrics).</summary>
/// <param name="NewFlows">Flows given a backend.</param>
/// <param name="NoBackend">Flows refused: no backend can take new flows (none, all terminating, or all weight 0).</param>
/// <param name="AffinityHits">ClientIP: the client's live entry named a backend that still takes new flows.</param>
/// <param name="AffinityMisses">ClientIP: no usable entry (absent, expired, or its backend gone/terminating); the scheduler picked.</param>
/// <param name="AffinityExpired">ClientIP: of the misses, those where the entry had timed out.</param>
/// <param name="AffinityFull">ClientIP: the client's bucket was full of live entries; the flow was scheduled without affinity.</param>
public readonly record struct ServicePortCounters(
    long NewFlows,
    long NoBackend,
    long AffinityHits,
    long AffinityMisses,
    long AffinityExpired,
    long AffinityFull);
