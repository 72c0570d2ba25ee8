using Dataplane.Kubernetes;
using k8s;
using k8s.Models;

namespace Dataplane.Ingress.Sources;

/// <summary>
/// The objects the controller last heard of, per kind (<see cref="ApiResources.IngressController"/>): the informers
/// write it through their handlers (<see cref="Ingresses"/>, ...), an objects file replaces it whole. Any change
/// raises <see cref="Changed"/>; the controller then rebuilds its snapshot from <see cref="Snapshot"/>, debounced, so a
/// burst of events is one rebuild. Nothing is served before every kind has been listed once (a route would otherwise
/// answer 503 for the moment between its Ingress and its EndpointSlices), as kube-proxy waits for its caches.
/// </summary>
public sealed class IngressObjectStore
{
    private readonly Lock _lock = new();
    private readonly Kind<V1Ingress> _ingresses;
    private readonly Kind<V1IngressClass> _classes;
    private readonly Kind<V1Service> _services;
    private readonly Kind<V1EndpointSlice> _slices;
    private readonly Kind<V1Secret> _secrets;

    public IngressObjectStore()
    {
        _ingresses = new Kind<V1Ingress>(this);
        _classes = new Kind<V1IngressClass>(this);
        _services = new Kind<V1Service>(this);
        _slices = new Kind<V1EndpointSlice>(this);
        _secrets = new Kind<V1Secret>(this);
    }

    /// <summary>Raised after a change, on the caller's thread (an informer's task), outside the store's lock.</summary>
    public event Action? Changed;

    public IResourceHandler<V1Ingress> Ingresses => _ingresses;

    public IResourceHandler<V1IngressClass> IngressClasses => _classes;

    public IResourceHandler<V1Service> Services => _services;

    public IResourceHandler<V1EndpointSlice> EndpointSlices => _slices;

    public IResourceHandler<V1Secret> Secrets => _secrets;

    /// <summary>Every kind has been listed (or a file loaded) at least once.</summary>
    public bool AllListed
    {
        get
        {
            lock (_lock)
            {
                return _ingresses.Listed && _classes.Listed && _services.Listed && _slices.Listed && _secrets.Listed;
            }
        }
    }

    /// <summary>Everything at once (an objects file): replaces what was held. Raises nothing; the caller rebuilds.</summary>
    public void Replace(ClusterObjects objects)
    {
        lock (_lock)
        {
            _ingresses.Fill(objects.Ingresses);
            _classes.Fill(objects.IngressClasses);
            _services.Fill(objects.Services);
            _slices.Fill(objects.EndpointSlices);
            _secrets.Fill(objects.Secrets);
        }
    }

    /// <summary>What is held now, as one set of objects.</summary>
    public ClusterObjects Snapshot()
    {
        lock (_lock)
        {
            return new ClusterObjects(_services.All(), _slices.All(), [])
            {
                Ingresses = _ingresses.All(),
                IngressClasses = _classes.All(),
                Secrets = _secrets.All(),
            };
        }
    }

    private void Change(Action change)
    {
        lock (_lock)
        {
            change();
        }

        Changed?.Invoke();
    }

    /// <summary>One kind's objects by <c>namespace/name</c>, and the informer handler that keeps them.</summary>
    private sealed class Kind<T>(IngressObjectStore store) : IResourceHandler<T>
        where T : IKubernetesObject<V1ObjectMeta>
    {
        private readonly Dictionary<string, T> _objects = new(StringComparer.Ordinal);

        public bool Listed { get; private set; }

        public void Synced(IReadOnlyList<T> all) => store.Change(() => Fill(all));

        public void Upserted(T obj) => store.Change(() => _objects[ResourceCache<T>.KeyOf(obj)] = obj);

        public void Deleted(T obj) => store.Change(() => _objects.Remove(ResourceCache<T>.KeyOf(obj)));

        /// <summary>Under the store's lock.</summary>
        public void Fill(IEnumerable<T> all)
        {
            _objects.Clear();
            foreach (T obj in all)
            {
                _objects[ResourceCache<T>.KeyOf(obj)] = obj;
            }

            Listed = true;
        }

        /// <summary>Under the store's lock.</summary>
        public List<T> All() => [.. _objects.Values];
    }
}
