using Dataplane.Packets;

namespace Dataplane.Tables;

/// <summary>
/// What one <see cref="ServiceTable.Apply"/> or <see cref="ServiceTable.Remove"/> changed. On error nothing was
/// changed (the service keeps its previous state) and only <see cref="Errors"/> is filled.
/// </summary>
public sealed class ServiceUpdate
{
    internal ServiceUpdate(string serviceName) => ServiceName = serviceName;

    public string ServiceName { get; }

    /// <summary>Keys newly published.</summary>
    public IReadOnlyList<ServiceKey> AddedPorts => AddedPortsList;

    internal List<ServiceKey> AddedPortsList { get; } = [];

    /// <summary>Keys no longer published (their flows should go: see <see cref="RemovedBackends"/>).</summary>
    public IReadOnlyList<ServiceKey> RemovedPorts => RemovedPortsList;

    internal List<ServiceKey> RemovedPortsList { get; } = [];

    /// <summary>Keys whose snapshot was replaced (backends, weights, terminating flags, scheduler or affinity changed).</summary>
    public IReadOnlyList<ServiceKey> ChangedPorts => ChangedPortsList;

    internal List<ServiceKey> ChangedPortsList { get; } = [];

    /// <summary>
    /// Backends (address + target port) that went away from a service port, removed ports included: conntrack should
    /// flush the flows it DNATed from that frontend to that backend. A backend that only became terminating is not
    /// listed (it keeps serving the flows it has).
    /// </summary>
    public IReadOnlyList<RemovedBackend> RemovedBackends => RemovedBackendsList;

    internal List<RemovedBackend> RemovedBackendsList { get; } = [];

    public IReadOnlyList<string> Errors => ErrorsList;

    internal List<string> ErrorsList { get; } = [];

    public bool Succeeded => Errors.Count == 0;

    public bool Changed => AddedPorts.Count + RemovedPorts.Count + ChangedPorts.Count != 0;

    public override string ToString() => Succeeded
        ? $"{ServiceName}: +{AddedPorts.Count} -{RemovedPorts.Count} ~{ChangedPorts.Count} ports, {RemovedBackends.Count} backends to flush"
        : $"{ServiceName}: {string.Join("; ", Errors)}";
}

/// <summary>A backend that left the frontend <paramref name="Frontend"/>: flows from that VIP:port to Ip:Port should be flushed.</summary>
public readonly record struct RemovedBackend(ServiceKey Frontend, IpAddress Ip, ushort Port, int StableId);
