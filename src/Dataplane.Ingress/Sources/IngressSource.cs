using Microsoft.Extensions.Logging;

namespace Dataplane.Ingress.Sources;

/// <summary>Where the controller's objects come from: an objects file (<see cref="FileIngressSource"/>) or the API server (<see cref="ApiIngressSource"/>).</summary>
public abstract class IngressSource : IDisposable
{
    /// <summary>Starts filling <paramref name="store"/>: a file at once, the API as its informers list and watch.</summary>
    internal abstract void Start(IngressObjectStore store, ILoggerFactory loggers);

    /// <summary>SIGHUP: reads the file again into <paramref name="store"/>; false (logged) when it has errors or there is nothing to re-read.</summary>
    internal virtual bool Reload(IngressObjectStore store, ILogger logger)
    {
        logger.LogInformation("reload: Ingresses follow the API server's watch; nothing to re-read");
        return false;
    }

    public abstract IngressSourceStatus Status(IngressObjectStore store);

    public virtual void Dispose() => GC.SuppressFinalize(this);
}
