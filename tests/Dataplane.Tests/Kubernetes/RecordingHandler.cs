using Dataplane.Kubernetes;
using k8s;
using k8s.Models;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// A handler that writes down every call ("Synced 3", "Upserted default/web", "Deleted default/web") and keeps the
/// view a reconciling consumer would hold: a sync replaces it, upserts and deletes edit it. Called on the informer's
/// task, read by the test's thread. <see cref="ThrowOn"/> makes chosen calls throw after they are recorded.
/// </summary>
internal sealed class RecordingHandler<T> : IResourceHandler<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    private readonly Lock _lock = new();
    private readonly List<string> _calls = [];
    private readonly List<IReadOnlyList<string>> _syncs = [];
    private readonly Dictionary<string, T> _view = new(StringComparer.Ordinal);

    /// <summary>Given the call's text ("Upserted default/bad"), whether to throw after recording it.</summary>
    public Func<string, bool> ThrowOn { get; set; } = static _ => false;

    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_lock)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>The keys each <see cref="Synced"/> was given, sorted.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Syncs
    {
        get
        {
            lock (_lock)
            {
                return [.. _syncs];
            }
        }
    }

    /// <summary>The consumer's view, keyed like the cache.</summary>
    public IReadOnlyDictionary<string, T> View
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, T>(_view, StringComparer.Ordinal);
            }
        }
    }

    public bool Saw(string call)
    {
        lock (_lock)
        {
            return _calls.Contains(call);
        }
    }

    public void Synced(IReadOnlyList<T> all)
    {
        Record($"Synced {all.Count}", () =>
        {
            _view.Clear();
            foreach (T obj in all)
            {
                _view[ResourceCache<T>.KeyOf(obj)] = obj;
            }

            _syncs.Add([.. all.Select(ResourceCache<T>.KeyOf).Order(StringComparer.Ordinal)]);
        });
    }

    public void Upserted(T obj) => Record($"Upserted {ResourceCache<T>.KeyOf(obj)}", () => _view[ResourceCache<T>.KeyOf(obj)] = obj);

    public void Deleted(T obj) => Record($"Deleted {ResourceCache<T>.KeyOf(obj)}", () => _view.Remove(ResourceCache<T>.KeyOf(obj)));

    private void Record(string call, Action apply)
    {
        lock (_lock)
        {
            _calls.Add(call);
            apply();
        }

        if (ThrowOn(call))
        {
            throw new InvalidOperationException($"the test's handler refuses {call}");
        }
    }
}
