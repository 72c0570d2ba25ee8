using System.Text.Json;
using System.Text.Json.Serialization;
using Dataplane.Protocol;

namespace Dataplane.Daemon.State;

/// <summary>
/// What the daemon made on this node, on disk (<c>owned.json</c> in the state directory), written before each thing
/// is made and rewritten after each is removed: ownership is a record, never a guess from how the last daemon stopped.
/// A restarted daemon adopts exactly the TAPs recorded here and deletes only namespaces recorded here;
/// `dataplane cleanup` removes what it lists. Pods attached at run time (CNI, `ctl pod add`) are recorded with their
/// request, so a restart attaches them again. A record naming something that no longer exists (a crash between the
/// record and the making, a runtime that deleted the namespace) is harmless: it is dropped when found so.
/// <para>
/// Each change rewrites the whole file under a temporary name and renames it over the old one, so a reader (or a
/// crash) only ever sees a whole record. Control plane only; a few hundred bytes per pod.
/// </para>
/// </summary>
public sealed class OwnershipRecord
{
    public const string FileName = "owned.json";

    private readonly Lock _lock = new();
    private readonly string _path;
    private OwnedState _state;

    private OwnershipRecord(string path, OwnedState state)
    {
        _path = path;
        _state = state;
    }

    public string Path => _path;

    /// <summary>Namespaces a daemon created (paths), with the pod each was made for.</summary>
    public IReadOnlyList<OwnedNamespace> Namespaces
    {
        get
        {
            lock (_lock)
            {
                return _state.Namespaces;
            }
        }
    }

    /// <summary>TAPs a daemon made: the namespace path and the interface name inside it.</summary>
    public IReadOnlyList<OwnedTap> Taps
    {
        get
        {
            lock (_lock)
            {
                return _state.Taps;
            }
        }
    }

    /// <summary>Pods attached at run time, as requested: what a restarted daemon attaches again.</summary>
    public IReadOnlyList<PodRequest> RuntimePods
    {
        get
        {
            lock (_lock)
            {
                return _state.RuntimePods;
            }
        }
    }

    /// <summary>
    /// Reads <paramref name="directory"/>/owned.json, or starts an empty record when there is none. A file that cannot be
    /// parsed throws <see cref="InvalidDataException"/> naming it: guessing would risk deleting what is not ours.
    /// </summary>
    public static OwnershipRecord Load(string directory)
    {
        string path = System.IO.Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return new OwnershipRecord(path, new OwnedState());
        }

        try
        {
            OwnedState state = JsonSerializer.Deserialize(File.ReadAllText(path), OwnershipJson.Default.OwnedState)
                ?? throw new InvalidDataException($"{path}: empty");
            return new OwnershipRecord(path, state);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not a valid ownership record ({ex.Message}); move it away to start over", ex);
        }
    }

    public bool OwnsNamespace(string path)
    {
        lock (_lock)
        {
            return _state.Namespaces.Any(n => n.Path == path);
        }
    }

    public bool OwnsTap(string namespacePath, string name)
    {
        lock (_lock)
        {
            return _state.Taps.Any(t => t.Namespace == namespacePath && t.Name == name);
        }
    }

    /// <summary>Records a namespace about to be created (before it exists).</summary>
    public void AddNamespace(string path, string pod) => Change(s => s.Namespaces.Any(n => n.Path == path)
        ? s
        : s with { Namespaces = [.. s.Namespaces, new OwnedNamespace(path, pod)] });

    public void RemoveNamespace(string path) => Change(s => s with { Namespaces = [.. s.Namespaces.Where(n => n.Path != path)] });

    /// <summary>Records a TAP about to be made (before it exists).</summary>
    public void AddTap(string namespacePath, string name, string pod) => Change(s => s.Taps.Any(t => t.Namespace == namespacePath && t.Name == name)
        ? s
        : s with { Taps = [.. s.Taps, new OwnedTap(namespacePath, name, pod)] });

    public void RemoveTap(string namespacePath, string name)
        => Change(s => s with { Taps = [.. s.Taps.Where(t => !(t.Namespace == namespacePath && t.Name == name))] });

    /// <summary>Records a pod attached at run time under its name (replacing an older request of that name).</summary>
    public void AddRuntimePod(string name, PodRequest request)
        => Change(s => s with { RuntimePods = [.. s.RuntimePods.Where(p => p.Name != name), request with { Name = name }] });

    public void RemoveRuntimePod(string name) => Change(s => s with { RuntimePods = [.. s.RuntimePods.Where(p => p.Name != name)] });

    /// <summary>Removes the file: nothing is owned any more (`dataplane cleanup` removed it all).</summary>
    public void Delete()
    {
        lock (_lock)
        {
            _state = new OwnedState();
            File.Delete(_path);
        }
    }

    private void Change(Func<OwnedState, OwnedState> change)
    {
        lock (_lock)
        {
            OwnedState next = change(_state);
            if (ReferenceEquals(next, _state))
            {
                return;
            }

            string temporary = _path + ".new";
            File.WriteAllText(temporary, JsonSerializer.Serialize(next, OwnershipJson.Default.OwnedState));
            File.Move(temporary, _path, overwrite: true);
            _state = next;
        }
    }
}

/// <summary>A namespace a daemon created, at <see cref="Path"/>, for <see cref="Pod"/>.</summary>
public sealed record OwnedNamespace(string Path, string Pod);

/// <summary>A TAP a daemon made: <see cref="Name"/> inside the namespace at <see cref="Namespace"/>, for <see cref="Pod"/>.</summary>
public sealed record OwnedTap(string Namespace, string Name, string Pod);

/// <summary>The file's content (version 1).</summary>
public sealed record OwnedState
{
    public int Version { get; init; } = 1;

    public IReadOnlyList<OwnedNamespace> Namespaces { get; init; } = [];

    public IReadOnlyList<OwnedTap> Taps { get; init; } = [];

    public IReadOnlyList<PodRequest> RuntimePods { get; init; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(OwnedState))]
internal sealed partial class OwnershipJson : JsonSerializerContext;
