using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Dataplane.Kubernetes;

/// <summary>
/// Keeps one resource's objects in step with the API server and tells a handler every change, with client-go's
/// reflector semantics:
/// <list type="bullet">
/// <item>List, page by page (<c>limit</c> + <c>continue</c>), into the cache; the handler gets
/// <see cref="IResourceHandler{T}.Synced"/> with everything.</item>
/// <item>Watch from the list's resource version, with bookmarks and a server-side timeout of 5 to 10 minutes; every
/// event and bookmark moves the resource version on. A watch the server ends is opened again from there: no list.</item>
/// <item>410 Gone (the version was compacted away; as the watch request's HTTP status or as an ERROR event in the
/// stream): list again, and the handler reconciles against the new full set.</item>
/// <item>Any other failure (refused, reset mid-stream, 5xx, a very short watch): back off (doubling, with jitter, up
/// to a cap) and watch again from the last resource version, or list again if there never was one.</item>
/// </list>
/// One task runs everything, so the handler is never called concurrently. <see cref="Status"/> and
/// <see cref="Cache"/> may be read from any thread.
/// </summary>
public sealed class ResourceInformer<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    // client-go's reflector treats a watch that closes within a second having sent nothing as a failure ("very short
    // watch"), so a server that accepts and hangs up at once is retried with backoff instead of in a tight loop.
    private static readonly TimeSpan s_veryShortWatch = TimeSpan.FromSeconds(1);

    private readonly IListerWatcher<T> _source;
    private readonly IResourceHandler<T> _handler;
    private readonly ILogger _logger;
    private readonly InformerOptions _options;
    private readonly ReconnectBackoff _backoff;
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private string? _resourceVersion;

    // Replaced whole on every change by the informer's task (the only writer); readers take the reference.
    private InformerStatus _status;

    public ResourceInformer(ApiResource resource, IListerWatcher<T> source, IResourceHandler<T> handler, ILogger logger,
        InformerOptions? options = null)
    {
        Resource = resource;
        _source = source;
        _handler = handler;
        _logger = logger;
        _options = options ?? new InformerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.PageSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MinWatchTimeout, TimeSpan.FromSeconds(1));
        _backoff = new ReconnectBackoff(_options.InitialBackoff, _options.MaxBackoff, _options.Time);
        _status = new InformerStatus { Resource = resource.Resource, State = InformerState.NotStarted };
    }

    public ApiResource Resource { get; }

    /// <summary>The objects as of the last list and the events since.</summary>
    public ResourceCache<T> Cache { get; } = new();

    public InformerStatus Status => Volatile.Read(ref _status);

    /// <summary>Completes when the handler has been given the first complete list.</summary>
    public Task FirstSync => _synced.Task;

    /// <summary>
    /// Lists, watches and reconnects until <paramref name="cancel"/> fires, then returns (without throwing): the
    /// open watch request is cancelled with it, so stopping does not wait for the server.
    /// </summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            throw new InvalidOperationException($"the {Resource.Resource} informer is already running");
        }

        bool mustList = true;
        bool justListed = false;
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                Exception failure;
                try
                {
                    if (mustList)
                    {
                        await ListAndSyncAsync(cancel).ConfigureAwait(false);
                        mustList = false;
                        justListed = true;
                    }

                    await WatchAsync(restart: !justListed, cancel).ConfigureAwait(false);
                    justListed = false;
                    continue;
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (!mustList && ApiErrors.IsExpired(ex))
                {
                    // Not a failure: the server no longer has our version's history. A list gets us back at once.
                    _logger.LogInformation("{Resource}: resource version {Version} expired ({Why}); listing again",
                        Resource.Resource, _resourceVersion, ApiErrors.Describe(ex));
                    Publish(Status with { RelistsAfterExpired = Status.RelistsAfterExpired + 1 });
                    mustList = true;
                    continue;
                }
                catch (Exception ex)
                {
                    failure = ex;
                }

                // Until a list has succeeded there is no version to watch from; after one, a failed watch (or a
                // failed relist, whose cache still holds the last state) resumes from the version it reached.
                justListed = false;
                await BackoffAsync(failure, cancel).ConfigureAwait(false);
            }
        }
        finally
        {
            Publish(Status with { State = InformerState.Stopped, BackoffUntil = null });
        }
    }

    private async Task ListAndSyncAsync(CancellationToken cancel)
    {
        Publish(Status with { State = InformerState.Listing, BackoffUntil = null });
        var items = new List<T>();
        string? continueToken = null;
        string? version;
        int pages = 0;
        do
        {
            ListPage<T> page = await _source.ListAsync(continueToken, _options.PageSize, cancel).ConfigureAwait(false);
            items.AddRange(page.Items);
            version = page.ResourceVersion;
            continueToken = page.Continue;
            pages++;
        }
        while (!string.IsNullOrEmpty(continueToken));

        if (string.IsNullOrEmpty(version))
        {
            throw new InvalidDataException("the list has no metadata.resourceVersion to watch from");
        }

        Cache.Replace(items);
        _resourceVersion = version;
        _backoff.Reset();
        Publish(Status with
        {
            Lists = Status.Lists + 1,
            ResourceVersion = version,
            Objects = Cache.Count,
            DisconnectedSince = null,
        });
        _logger.LogInformation("{Resource}: listed {Count} objects in {Pages} page(s) at resource version {Version}",
            Resource.Resource, items.Count, pages, version);

        Deliver(static (handler, all) => handler.Synced(all), (IReadOnlyList<T>)items, "the full list");
        Publish(Status with { HasSynced = true });
        _synced.TrySetResult();
    }

    private async Task WatchAsync(bool restart, CancellationToken cancel)
    {
        string version = _resourceVersion!;
        // Uniform in [min, 2 min), client-go's spread, so informers started together do not reconnect together.
        double min = _options.MinWatchTimeout.TotalSeconds;
        int timeoutSeconds = (int)(min * (1 + Random.Shared.NextDouble()));
        Publish(Status with
        {
            State = InformerState.Watching,
            BackoffUntil = null,
            Watches = Status.Watches + 1,
            WatchRestarts = Status.WatchRestarts + (restart ? 1 : 0),
        });

        long started = _options.Time.GetTimestamp();
        bool heard = false;
        await foreach (WatchItem<T> item in _source.WatchAsync(version, timeoutSeconds, cancel).ConfigureAwait(false))
        {
            if (!heard)
            {
                heard = true;
                Publish(Status with { DisconnectedSince = null });
            }

            if (item.Error is KubernetesException { Status: not null } statusError)
            {
                // An ERROR event: the server ends the watch after it. RunAsync tells 410 (list again) from the rest.
                throw statusError;
            }

            if (item.Error is { } undecodable)
            {
                Publish(Status with { UndecodableEvents = Status.UndecodableEvents + 1 });
                _logger.LogWarning("{Resource}: skipped a watch event that could not be read: {Error}",
                    Resource.Resource, ApiErrors.Describe(undecodable));
                continue;
            }

            Apply(item.Type, item.Object);
        }

        if (!heard && _options.Time.GetElapsedTime(started) < s_veryShortWatch)
        {
            throw new IOException($"the watch from resource version {version} closed within a second without a line");
        }

        // Ended by the server (its timeout): a healthy connection; the next watch goes on from here.
        _backoff.Reset();
        Publish(Status with { DisconnectedSince = null });
    }

    private void Apply(WatchEventType type, T? obj)
    {
        string? version = obj?.Metadata?.ResourceVersion;
        if (type == WatchEventType.Bookmark)
        {
            // A bookmark carries only a resource version: the point up to which nothing else is coming.
            if (!string.IsNullOrEmpty(version))
            {
                _resourceVersion = version;
            }

            Publish(Status with { Bookmarks = Status.Bookmarks + 1, ResourceVersion = _resourceVersion });
            return;
        }

        if (obj?.Metadata?.Name is not { Length: > 0 })
        {
            Publish(Status with { UndecodableEvents = Status.UndecodableEvents + 1 });
            _logger.LogWarning("{Resource}: skipped a {Type} event without an object name", Resource.Resource, type);
            return;
        }

        if (!string.IsNullOrEmpty(version))
        {
            _resourceVersion = version;
        }

        string key = ResourceCache<T>.KeyOf(obj);
        switch (type)
        {
            case WatchEventType.Added:
            case WatchEventType.Modified:
                if (Cache.TryGet(key, out T cached) && version is not null && cached.Metadata?.ResourceVersion == version)
                {
                    // Exactly the version we hold (a replay across a relist): nothing for the handler.
                    Publish(Status with { ResourceVersion = _resourceVersion });
                    return;
                }

                Cache.Set(key, obj);
                Publish(Status with { Events = Status.Events + 1, ResourceVersion = _resourceVersion, Objects = Cache.Count });
                Deliver(static (handler, o) => handler.Upserted(o), obj, key);
                break;

            case WatchEventType.Deleted:
                Cache.Remove(key);
                Publish(Status with { Events = Status.Events + 1, ResourceVersion = _resourceVersion, Objects = Cache.Count });
                Deliver(static (handler, o) => handler.Deleted(o), obj, key);
                break;

            default:
                _logger.LogWarning("{Resource}: ignored a watch event of type {Type} for {Key}", Resource.Resource, type, key);
                break;
        }
    }

    // The handler is the consumer's code: whatever it throws is logged and counted, and the informer goes on, so one
    // bad object cannot stop every later update from arriving.
    private void Deliver<TArg>(Action<IResourceHandler<T>, TArg> call, TArg arg, string what)
    {
        try
        {
            call(_handler, arg);
        }
        catch (Exception ex)
        {
            Publish(Status with { HandlerFailures = Status.HandlerFailures + 1 });
            _logger.LogError(ex, "{Resource}: the handler failed on {What}; the informer goes on", Resource.Resource, what);
        }
    }

    private async Task BackoffAsync(Exception failure, CancellationToken cancel)
    {
        TimeSpan delay = _backoff.Next();
        DateTimeOffset now = _options.Time.GetUtcNow();
        string error = ApiErrors.Describe(failure);
        Publish(Status with
        {
            State = InformerState.Backoff,
            BackoffUntil = now + delay,
            LastError = error,
            LastErrorAt = now,
            DisconnectedSince = Status.DisconnectedSince ?? now,
        });
        _logger.LogWarning("{Resource}: {Error}; retrying in {Delay:0} ms", Resource.Resource, error, delay.TotalMilliseconds);
        await Task.Delay(delay, _options.Time, cancel).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private void Publish(InformerStatus status) => Volatile.Write(ref _status, status);
}
