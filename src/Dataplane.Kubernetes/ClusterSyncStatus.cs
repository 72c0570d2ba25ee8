namespace Dataplane.Kubernetes;

/// <summary>What <see cref="ClusterSync"/> holds and has programmed, for <c>ctl status</c>.</summary>
/// <param name="Ready">Every kind has been listed once, so the node programs what it holds.</param>
/// <param name="ServedServices">Services the node balances (the others were skipped or refused).</param>
/// <param name="Changes">Events (or loads) programmed since start.</param>
/// <param name="ProgramP50">Median time from an event's arrival to the node programmed, over the recent changes.</param>
/// <param name="RecentWarnings">The last warnings about objects, newest last.</param>
public sealed record ClusterSyncStatus(string Source, bool Ready, int Services, int EndpointSlices, int Nodes, int ServedServices, int Routes,
    long Changes, TimeSpan ProgramP50, TimeSpan ProgramP99, IReadOnlyList<string> RecentWarnings);
