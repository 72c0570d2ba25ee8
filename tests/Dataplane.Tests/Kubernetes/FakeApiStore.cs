using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// What etcd and the watch cache give <see cref="FakeApiServer"/>: objects of every resource under one revision
/// counter, the history of changes since the last compaction (what a watch from an old revision replays), the
/// state at each listed revision (what a continue token pages through), and the open watches each change fans out
/// to. It outlives the HTTP server, as etcd outlives an API server restart.
/// </summary>
internal sealed class FakeApiStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> _objects = new(StringComparer.Ordinal);
    private readonly List<StoredEvent> _history = [];
    private readonly Dictionary<(string Resource, long Revision), List<ListedObject>> _listedStates = [];
    private readonly List<StoreWatch> _watches = [];

    // Like a fresh cluster's etcd, not at zero: a version of "0" means "any" to the API, never a real revision.
    private long _revision = 1000;

    // Watches and continue tokens from before this revision get 410 Gone.
    private long _compactedAt;

    public long Revision
    {
        get
        {
            lock (_lock)
            {
                return _revision;
            }
        }
    }

    public long CompactedAt
    {
        get
        {
            lock (_lock)
            {
                return _compactedAt;
            }
        }
    }

    /// <summary>
    /// Creates or replaces the object, as a PUT would: a new revision in <c>metadata.resourceVersion</c>, and on
    /// create a fresh <c>uid</c> and <c>creationTimestamp</c> (the server's, whatever the caller sent); on replace the
    /// stored ones are kept. Returns the stored object.
    /// </summary>
    public JsonObject Upsert(FakeResource resource, JsonObject obj)
    {
        JsonObject metadata = obj["metadata"] as JsonObject ?? throw new ArgumentException("the object has no metadata");
        string name = (string?)metadata["name"] ?? throw new ArgumentException("the object has no metadata.name");
        string? ns = (string?)metadata["namespace"];
        if (resource.Namespaced && string.IsNullOrEmpty(ns))
        {
            ns = "default";
            metadata["namespace"] = ns;
        }
        else if (!resource.Namespaced)
        {
            metadata.Remove("namespace");
            ns = null;
        }

        obj["kind"] = resource.Api.Kind;
        obj["apiVersion"] = resource.ApiVersion;
        string key = Key(ns, name);
        lock (_lock)
        {
            SortedDictionary<string, JsonObject> objects = ObjectsOf(resource);
            bool exists = objects.TryGetValue(key, out JsonObject? old);
            metadata["uid"] = exists ? (string?)old!["metadata"]!["uid"] : Guid.NewGuid().ToString();
            metadata["creationTimestamp"] = exists
                ? (string?)old!["metadata"]!["creationTimestamp"]
                : DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
            metadata["resourceVersion"] = (++_revision).ToString();
            objects[key] = obj;
            Record(resource, exists ? "MODIFIED" : "ADDED", obj);
            return obj;
        }
    }

    /// <summary>Deletes the object; its last state, stamped with the deletion's revision as the server does, goes to the watches.</summary>
    public bool Delete(FakeResource resource, string? ns, string name)
    {
        lock (_lock)
        {
            SortedDictionary<string, JsonObject> objects = ObjectsOf(resource);
            if (!objects.Remove(Key(resource.Namespaced ? ns : null, name), out JsonObject? obj))
            {
                return false;
            }

            obj = (JsonObject)obj.DeepClone();
            obj["metadata"]!["resourceVersion"] = (++_revision).ToString();
            Record(resource, "DELETED", obj);
            return true;
        }
    }

    public JsonObject? Get(FakeResource resource, string? ns, string name)
    {
        lock (_lock)
        {
            return ObjectsOf(resource).TryGetValue(Key(resource.Namespaced ? ns : null, name), out JsonObject? obj)
                ? (JsonObject)obj.DeepClone()
                : null;
        }
    }

    /// <summary>
    /// The objects at <paramref name="revision"/> (the current one when null) from key <paramref name="start"/> on,
    /// and the revision read. Null when that revision's state is no longer kept (compacted): a 410.
    /// </summary>
    public (IReadOnlyList<ListedObject> Objects, long Revision)? List(FakeResource resource, long? revision)
    {
        lock (_lock)
        {
            if (revision is null)
            {
                // Kept until the next compaction, so the list's later pages read the same state.
                long now = _revision;
                if (!_listedStates.TryGetValue((resource.Api.Resource, now), out List<ListedObject>? state))
                {
                    state = [.. ObjectsOf(resource).Select(static pair => new ListedObject(pair.Key, NamespaceOf(pair.Value), ListItem(pair.Value)))];
                    _listedStates[(resource.Api.Resource, now)] = state;
                }

                return (state, now);
            }

            return revision >= _compactedAt && _listedStates.TryGetValue((resource.Api.Resource, revision.Value), out List<ListedObject>? kept)
                ? (kept, revision.Value)
                : null;
        }
    }

    /// <summary>Forgets the history and the listed states: watches and continue tokens from before now get 410.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _compactedAt = _revision;
            _history.Clear();
            _listedStates.Clear();
        }
    }

    /// <summary>
    /// Opens a watch: the changes after <paramref name="fromRevision"/> already made, then every later one, in
    /// order. From null (or "0"), every current object as ADDED first, as the server does for a watch without a
    /// version. Null when <paramref name="fromRevision"/> is older than the last compaction.
    /// </summary>
    public StoreWatch? Watch(FakeResource resource, string? ns, long? fromRevision, bool bookmarks)
    {
        lock (_lock)
        {
            if (fromRevision is { } from && from < _compactedAt)
            {
                return null;
            }

            var watch = new StoreWatch(resource, ns, bookmarks);
            if (fromRevision is { } after)
            {
                foreach (StoredEvent e in _history)
                {
                    if (e.Revision > after && watch.Wants(e.Resource, e.Namespace))
                    {
                        watch.Lines.Writer.TryWrite(e.Line);
                    }
                }
            }
            else
            {
                foreach (JsonObject obj in ObjectsOf(resource).Values)
                {
                    if (watch.Wants(resource.Api.Resource, NamespaceOf(obj)))
                    {
                        watch.Lines.Writer.TryWrite(EventLine("ADDED", obj));
                    }
                }
            }

            _watches.Add(watch);
            return watch;
        }
    }

    public void Unwatch(StoreWatch watch)
    {
        lock (_lock)
        {
            _watches.Remove(watch);
        }
    }

    /// <summary>A BOOKMARK at the current revision to every open watch that asked for bookmarks.</summary>
    public void SendBookmarks()
    {
        lock (_lock)
        {
            foreach (StoreWatch watch in _watches)
            {
                if (watch.Bookmarks && !watch.Stalled)
                {
                    var obj = new JsonObject
                    {
                        ["kind"] = watch.Resource.Api.Kind,
                        ["apiVersion"] = watch.Resource.ApiVersion,
                        ["metadata"] = new JsonObject { ["resourceVersion"] = _revision.ToString() },
                    };
                    watch.Lines.Writer.TryWrite(EventLine("BOOKMARK", obj));
                }
            }
        }
    }

    /// <summary>A line as is to every open watch of the resource: not recorded, not replayed.</summary>
    public void SendRawLine(FakeResource resource, string line)
    {
        lock (_lock)
        {
            foreach (StoreWatch watch in _watches)
            {
                if (watch.Resource == resource && !watch.Stalled)
                {
                    watch.Lines.Writer.TryWrite(line);
                }
            }
        }
    }

    /// <summary>The open watches stop receiving anything, like a connection hung somewhere on the way.</summary>
    public void StallWatches()
    {
        lock (_lock)
        {
            foreach (StoreWatch watch in _watches)
            {
                watch.Stalled = true;
            }
        }
    }

    /// <summary>Every open watch is told to abort its connection (its HTTP handler does).</summary>
    public void DropWatches()
    {
        lock (_lock)
        {
            foreach (StoreWatch watch in _watches)
            {
                watch.Drop();
            }
        }
    }

    public static string EventLine(string type, JsonObject obj) =>
        $$"""{"type":"{{type}}","object":{{obj.ToJsonString()}}}""";

    public static string Key(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : $"{ns}/{name}";

    private static string? NamespaceOf(JsonObject obj) => (string?)obj["metadata"]?["namespace"];

    // List items come without kind and apiVersion: the API server leaves them to the list's own.
    private static string ListItem(JsonObject obj)
    {
        var item = (JsonObject)obj.DeepClone();
        item.Remove("kind");
        item.Remove("apiVersion");
        return item.ToJsonString();
    }

    private SortedDictionary<string, JsonObject> ObjectsOf(FakeResource resource)
    {
        if (!_objects.TryGetValue(resource.Api.Resource, out SortedDictionary<string, JsonObject>? objects))
        {
            objects = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
            _objects[resource.Api.Resource] = objects;
        }

        return objects;
    }

    private void Record(FakeResource resource, string type, JsonObject obj)
    {
        var e = new StoredEvent(_revision, resource.Api.Resource, NamespaceOf(obj), EventLine(type, obj));
        _history.Add(e);
        foreach (StoreWatch watch in _watches)
        {
            if (!watch.Stalled && watch.Wants(e.Resource, e.Namespace))
            {
                watch.Lines.Writer.TryWrite(e.Line);
            }
        }
    }

    private sealed record StoredEvent(long Revision, string Resource, string? Namespace, string Line);
}

/// <summary>One object of a listed state: its key (the order lists page in), namespace and JSON as a list item.</summary>
internal sealed record ListedObject(string Key, string? Namespace, string Json);

/// <summary>An open watch: the event lines for it, in order, until its connection ends.</summary>
internal sealed class StoreWatch(FakeResource resource, string? ns, bool bookmarks)
{
    private readonly CancellationTokenSource _dropped = new();

    public FakeResource Resource { get; } = resource;

    public bool Bookmarks { get; } = bookmarks;

    public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Set by <see cref="FakeApiStore.StallWatches"/>; read and written under the store's lock.</summary>
    public bool Stalled { get; set; }

    public CancellationToken Dropped => _dropped.Token;

    public void Drop() => _dropped.Cancel();

    public bool Wants(string resource, string? objectNamespace) =>
        resource == Resource.Api.Resource && (ns is null || ns == objectNamespace);
}
