namespace Dataplane.Kubernetes;

/// <summary>
/// One informer's state for operators (<c>ctl</c>, /readyz, logs): a snapshot, taken under the informer's lock, so
/// every field belongs to the same moment.
/// </summary>
public sealed record InformerStatus
{
    /// <summary>The plural resource name ("services").</summary>
    public required string Resource { get; init; }

    public InformerState State { get; init; }

    /// <summary>When the next attempt is due, while <see cref="State"/> is <see cref="InformerState.Backoff"/>.</summary>
    public DateTimeOffset? BackoffUntil { get; init; }

    /// <summary>At least one complete list has reached the handler: the consumer has seen the whole cluster once.</summary>
    public bool HasSynced { get; init; }

    /// <summary>The resource version the next watch starts from (the last list's, then each event's and bookmark's).</summary>
    public string? ResourceVersion { get; init; }

    /// <summary>Objects in the cache.</summary>
    public int Objects { get; init; }

    /// <summary>Complete lists (every page read), the first one included.</summary>
    public long Lists { get; init; }

    /// <summary>Lists forced by 410 Gone: the watch's resource version had been compacted away.</summary>
    public long RelistsAfterExpired { get; init; }

    /// <summary>Watch requests opened.</summary>
    public long Watches { get; init; }

    /// <summary>Watch requests opened again from a resource version a previous watch reached, without a list between.</summary>
    public long WatchRestarts { get; init; }

    /// <summary>ADDED, MODIFIED and DELETED events applied.</summary>
    public long Events { get; init; }

    public long Bookmarks { get; init; }

    /// <summary>Watch lines KubernetesClient could not turn into an object; skipped, the watch goes on.</summary>
    public long UndecodableEvents { get; init; }

    /// <summary>Exceptions thrown by the handler (each logged).</summary>
    public long HandlerFailures { get; init; }

    /// <summary>The last failure, one line, or null if there has been none.</summary>
    public string? LastError { get; init; }

    public DateTimeOffset? LastErrorAt { get; init; }

    /// <summary>Since when requests have been failing; null while connected (or before the first failure).</summary>
    public DateTimeOffset? DisconnectedSince { get; init; }
}
