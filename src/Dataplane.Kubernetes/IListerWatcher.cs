namespace Dataplane.Kubernetes;

/// <summary>
/// How an informer reaches one resource (client-go's ListerWatcher): a page of the list, and a watch stream from a
/// resource version. <see cref="KubernetesListerWatcher{T, TList}"/> is the one over KubernetesClient.
/// </summary>
public interface IListerWatcher<T>
{
    /// <summary>One page of the list: at most <paramref name="limit"/> objects from <paramref name="continueToken"/> on
    /// (null for the first page). Throws on failure; an expired continue token is a 410.</summary>
    Task<ListPage<T>> ListAsync(string? continueToken, int limit, CancellationToken cancel);

    /// <summary>
    /// The changes after <paramref name="resourceVersion"/>, with bookmarks, until the server ends the watch (after
    /// about <paramref name="timeoutSeconds"/>), the connection fails (the enumeration throws), or
    /// <paramref name="cancel"/> fires. Lines the client could not decode and the server's ERROR events come as
    /// items with <see cref="WatchItem{T}.Error"/> set, in stream order.
    /// </summary>
    IAsyncEnumerable<WatchItem<T>> WatchAsync(string resourceVersion, int timeoutSeconds, CancellationToken cancel);
}
