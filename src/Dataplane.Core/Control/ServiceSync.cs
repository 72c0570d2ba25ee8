using Dataplane.Tables;

namespace Dataplane.Control;

/// <summary>What one <see cref="ServiceController.Replace"/> did, service by service.</summary>
public sealed class ServiceSync
{
    internal ServiceSync(string source) => Source = source;

    /// <summary>Who handed the controller the desired set.</summary>
    public string Source { get; }

    /// <summary>Services that were not applied before.</summary>
    public IReadOnlyList<ServiceUpdate> Added => AddedList;

    /// <summary>Services whose declaration changed (the update says which ports the table rebuilt, maybe none).</summary>
    public IReadOnlyList<ServiceUpdate> Updated => UpdatedList;

    /// <summary>Services no longer wanted: removed, their flows flushed.</summary>
    public IReadOnlyList<ServiceUpdate> Removed => RemovedList;

    /// <summary>Services the table refused; each keeps its previous state (or stays absent).</summary>
    public IReadOnlyList<ServiceUpdate> Failed => FailedList;

    /// <summary>Services equal to the applied ones: not touched.</summary>
    public int Unchanged { get; internal set; }

    public bool Succeeded => Failed.Count == 0;

    /// <summary>Whether the desired set differed at all.</summary>
    public bool Changed => Added.Count + Updated.Count + Removed.Count != 0;

    internal List<ServiceUpdate> AddedList { get; } = [];

    internal List<ServiceUpdate> UpdatedList { get; } = [];

    internal List<ServiceUpdate> RemovedList { get; } = [];

    internal List<ServiceUpdate> FailedList { get; } = [];

    public override string ToString()
        => $"{Source}: services {Added.Count} added, {Updated.Count} changed, {Removed.Count} removed, {Unchanged} unchanged"
            + (Succeeded ? "" : $", {Failed.Count} refused ({string.Join("; ", Failed)})");
}
