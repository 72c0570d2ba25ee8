using System.Collections.Immutable;
using k8s;
using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>
/// The objects an informer holds, keyed <c>namespace/name</c> (<c>name</c> for cluster-scoped kinds like Node), as
/// client-go's MetaNamespaceKeyFunc keys them. Only the informer's task writes; any thread reads, and a read sees
/// one whole state (an immutable map swapped per change), never a relist half done.
/// </summary>
public sealed class ResourceCache<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    private ImmutableDictionary<string, T> _objects = ImmutableDictionary.Create<string, T>(StringComparer.Ordinal);

    public int Count => Volatile.Read(ref _objects).Count;

    /// <summary>Everything now, keyed; a snapshot later changes do not touch.</summary>
    public IReadOnlyDictionary<string, T> Snapshot => Volatile.Read(ref _objects);

    public static string KeyOf(T obj) => KeyOf(obj.Metadata?.NamespaceProperty, obj.Metadata?.Name ?? "");

    public static string KeyOf(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : $"{ns}/{name}";

    public bool TryGet(string key, out T value) => Volatile.Read(ref _objects).TryGetValue(key, out value!);

    internal void Replace(IEnumerable<T> all)
    {
        var builder = ImmutableDictionary.CreateBuilder<string, T>(StringComparer.Ordinal);
        foreach (T obj in all)
        {
            builder[KeyOf(obj)] = obj;
        }

        Volatile.Write(ref _objects, builder.ToImmutable());
    }

    internal void Set(string key, T obj) => Volatile.Write(ref _objects, _objects.SetItem(key, obj));

    internal void Remove(string key) => Volatile.Write(ref _objects, _objects.Remove(key));
}
