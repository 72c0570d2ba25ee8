using Dataplane.Kubernetes;
using Microsoft.Extensions.Logging;

namespace Dataplane.Ingress.Sources;

/// <summary>
/// Objects from a file (<c>kubectl get ingress,ingressclass,svc,endpointslices,secrets -A -o yaml</c>), read by
/// <see cref="ObjectsFile"/> at start and again on SIGHUP. A file with errors at start is refused (the CLI exits 2); a
/// reload with errors keeps what was read before, as the node daemon does.
/// </summary>
public sealed class FileIngressSource : IngressSource
{
    private readonly Lock _lock = new();
    private ClusterObjects _objects;
    private DateTimeOffset _loadedAt;
    private string? _lastError;

    private FileIngressSource(string path, ClusterObjects objects)
    {
        Path = path;
        _objects = objects;
        _loadedAt = DateTimeOffset.UtcNow;
    }

    public string Path { get; }

    /// <summary>Reads the file; null with its errors (each one line, <c>file:line:col: problem</c>) when it cannot be used.</summary>
    public static FileIngressSource? Open(string path, out IReadOnlyList<ObjectsFileProblem> errors, out IReadOnlyList<ObjectsFileProblem> warnings)
    {
        ObjectsFileResult result = ObjectsFile.Read(path);
        errors = result.Errors;
        warnings = result.Warnings;
        return result.Succeeded ? new FileIngressSource(path, result.Objects) : null;
    }

    internal override void Start(IngressObjectStore store, ILoggerFactory loggers)
    {
        lock (_lock)
        {
            store.Replace(_objects);
        }
    }

    internal override bool Reload(IngressObjectStore store, ILogger logger)
    {
        ObjectsFileResult result = ObjectsFile.Read(Path);
        foreach (ObjectsFileProblem warning in result.Warnings)
        {
            logger.LogWarning("{Warning}", warning);
        }

        foreach (ObjectsFileProblem error in result.Errors)
        {
            logger.LogError("{Error}", error);
        }

        lock (_lock)
        {
            if (!result.Succeeded)
            {
                _lastError = $"{result.Errors[0]}{(result.Errors.Count > 1 ? $" (and {result.Errors.Count - 1} more)" : "")}";
                logger.LogError("reload: {Path} has errors; still serving the objects read before", Path);
                return false;
            }

            _objects = result.Objects;
            _loadedAt = DateTimeOffset.UtcNow;
            _lastError = null;
            store.Replace(_objects);
            return true;
        }
    }

    public override IngressSourceStatus Status(IngressObjectStore store)
    {
        lock (_lock)
        {
            return new IngressSourceStatus("file", Path, store.AllListed, _loadedAt, _lastError, []);
        }
    }
}
