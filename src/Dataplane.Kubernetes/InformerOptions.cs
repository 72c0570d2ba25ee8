namespace Dataplane.Kubernetes;

/// <summary>How an informer pages, how long its watches last, and how it backs off. The defaults are client-go's.</summary>
public sealed record InformerOptions
{
    /// <summary>Objects per list page (<c>limit</c>); client-go's pager asks for 500.</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>
    /// Each watch asks the server to end it after a random time between this and twice this (<c>timeoutSeconds</c>),
    /// as client-go's reflector does (5 to 10 minutes), so a cluster's informers do not all reconnect at once and a
    /// watch silently stuck behind a dead load balancer is replaced.
    /// </summary>
    public TimeSpan MinWatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The first wait after a failure; it doubles per consecutive failure up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock for backoff waits, watch durations and status times.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
