namespace Dataplane.Kubernetes;

/// <summary>What an informer is doing right now.</summary>
public enum InformerState
{
    /// <summary><see cref="ResourceInformer{T}.RunAsync"/> has not been called yet.</summary>
    NotStarted,

    /// <summary>Reading the full list, page by page.</summary>
    Listing,

    /// <summary>A watch request is open (or being opened) from the last resource version.</summary>
    Watching,

    /// <summary>The last request failed; waiting until <see cref="InformerStatus.BackoffUntil"/> to try again.</summary>
    Backoff,

    /// <summary>Stopped by its cancellation token.</summary>
    Stopped,
}
