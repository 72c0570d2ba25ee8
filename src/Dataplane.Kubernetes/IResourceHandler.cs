namespace Dataplane.Kubernetes;

/// <summary>
/// What an informer tells its consumer, the way kube-proxy's handlers hear it (<c>OnServiceAdd/Update/Delete</c>,
/// <c>OnServicesSynced</c>). Called on the informer's own task, one call at a time, in the order the API server
/// sent the changes. An exception is logged and counted; the informer goes on.
/// </summary>
public interface IResourceHandler<in T>
{
    /// <summary>
    /// A complete list: at start-up, and again after the watch fell too far behind (410 Gone). <paramref name="all"/>
    /// is everything that exists now, so the consumer reconciles: what it holds and is not here was deleted while
    /// the informer could not see it, and no <see cref="Deleted"/> comes for it.
    /// </summary>
    void Synced(IReadOnlyList<T> all);

    /// <summary>An object was created or changed (watch ADDED or MODIFIED).</summary>
    void Upserted(T obj);

    /// <summary>An object was deleted (watch DELETED); <paramref name="obj"/> is its last state.</summary>
    void Deleted(T obj);
}
