using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Kubernetes;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// A test double for kube-apiserver: there is none on this machine, so this local HTTP server (Kestrel on
/// 127.0.0.1) follows the real list and watch protocol closely enough that KubernetesClient cannot tell the
/// difference, and lets a test break it the ways a real one breaks.
/// <para>
/// Covers: <c>GET</c> of services, endpointslices (discovery.k8s.io/v1) and nodes, and for the ingress controller
/// ingresses and ingressclasses (networking.k8s.io/v1) and secrets, cluster-wide and per namespace,
/// and of one object; lists with their real shape (<c>kind: ServiceList</c>, <c>metadata.resourceVersion</c>, items
/// without kind/apiVersion), paged by <c>limit</c> and <c>continue</c> over a consistent snapshot, with a continue
/// token from before a compaction answered 410; one etcd-like revision counter across kinds that stamps every
/// change's <c>metadata.resourceVersion</c> (and <c>uid</c>, <c>creationTimestamp</c> on create); watches
/// (<c>watch=true</c>, <c>resourceVersion</c>, <c>allowWatchBookmarks</c>, <c>timeoutSeconds</c>) as chunked JSON,
/// one event a line, replaying history after the version and then live changes, BOOKMARK events, and for a version
/// older than the last compaction the real ERROR event (Status, code 410, reason Expired) followed by the end of
/// the stream; errors as Status objects.
/// </para>
/// <para>
/// Test controls: <see cref="UpsertJson"/> (objects in exact API JSON, malformed ones too), <see cref="Delete"/>,
/// <see cref="Compact"/>, <see cref="DropWatches"/> (abort mid-stream), <see cref="StallWatches"/>,
/// <see cref="SendBookmarks"/>, <see cref="SendRawWatchLine"/>, <see cref="FailRequests"/>,
/// <see cref="StopAsync"/> and <see cref="StartAgainAsync"/> on the same port (the store, like etcd, survives), and
/// counters of what was served.
/// </para>
/// <para>
/// Does not cover: authentication and authorization (anything is allowed, over plain HTTP/1.1), label and field
/// selectors (rejected with 400 rather than ignored), <c>resourceVersionMatch</c> and <c>sendInitialEvents</c>
/// (rejected), writes over HTTP (create, update, patch, server-side apply: the test calls the controls instead),
/// validation and defaulting (an object is stored as given, apart from the metadata the server owns), watch of a
/// single object, the watch cache's "too large resource version" wait, protobuf, and any other resource.
/// </para>
/// </summary>
public sealed class FakeApiServer : IAsyncDisposable
{
    // The real server ends a watch without timeoutSeconds after a random 30-60 minutes (--min-request-timeout).
    private const int DefaultWatchSeconds = 1800;

    private readonly FakeApiStore _store = new();
    private readonly Lock _lock = new();
    private readonly List<InjectedFailure> _failures = [];
    private readonly Dictionary<string, Served> _served = new(StringComparer.Ordinal);
    private readonly TimeSpan? _bookmarkInterval;
    private WebApplication? _app;
    private Timer? _bookmarkTimer;
    private int _failuresServed;

    private FakeApiServer(TimeSpan? bookmarkInterval)
    {
        _bookmarkInterval = bookmarkInterval;
        foreach (FakeResource resource in FakeResource.All)
        {
            _served[resource.Api.Resource] = new Served();
        }
    }

    /// <summary>The port, chosen by the kernel at the first start and kept across restarts.</summary>
    public int Port { get; private set; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public bool IsRunning => _app is not null;

    /// <summary>The last revision handed out: the resource version of the latest change, of any kind.</summary>
    public string ResourceVersion => _store.Revision.ToString();

    /// <summary>Starts on an ephemeral port; with <paramref name="bookmarkInterval"/>, every watch gets bookmarks that often.</summary>
    public static async Task<FakeApiServer> StartAsync(TimeSpan? bookmarkInterval = null)
    {
        var server = new FakeApiServer(bookmarkInterval);
        await server.ListenAsync(port: 0);
        return server;
    }

    /// <summary>A KubernetesClient for this server, made as the daemon makes its own (<see cref="ApiServerClient"/>); only the address differs.</summary>
    /// <summary>A kubeconfig naming this server (token auth, which the double does not check), written into <paramref name="directory"/>.</summary>
    public string WriteKubeconfig(string directory)
    {
        string path = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {BaseUri}
            users:
            - name: dataplane
              user:
                token: not-checked
            contexts:
            - name: fake
              context:
                cluster: fake
                user: dataplane
            current-context: fake
            """);
        return path;
    }

    public IKubernetes CreateClient() => ApiServerClient.Create(new KubernetesClientConfiguration { Host = BaseUri.ToString() });

    /// <summary>Creates or replaces an object given as the API's JSON (its <c>kind</c> says which resource); returns its new resource version.</summary>
    public string UpsertJson(string json)
    {
        JsonObject obj = JsonNode.Parse(json) as JsonObject ?? throw new ArgumentException("not a JSON object");
        string kind = (string?)obj["kind"] ?? throw new ArgumentException("the object has no kind");
        JsonObject stored = _store.Upsert(FakeResource.OfKind(kind), obj);
        return (string)stored["metadata"]!["resourceVersion"]!;
    }

    /// <summary>Creates or replaces a KubernetesClient model object (kind and apiVersion filled in from its type if unset).</summary>
    public string Upsert<T>(T obj)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        KubernetesEntityAttribute entity = typeof(T).GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new ArgumentException($"{typeof(T).Name} is not a Kubernetes entity");
        obj.Kind ??= entity.Kind;
        obj.ApiVersion ??= string.IsNullOrEmpty(entity.Group) ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}";
        return UpsertJson(KubernetesJson.Serialize(obj));
    }

    /// <summary>Upserts a file of Fixtures/ (exact API JSON); returns its new resource version.</summary>
    public string UpsertFixture(string fileName) => UpsertJson(ApiFixtures.Read(fileName));

    /// <summary>Deletes an object (<paramref name="ns"/> is ignored for cluster-scoped resources); false if there was none.</summary>
    public bool Delete(ApiResource resource, string? ns, string name) => _store.Delete(FakeResource.Of(resource), ns, name);

    /// <summary>Forgets the history, as etcd's compaction does: a watch or continue token from an earlier version now gets 410.</summary>
    public void Compact() => _store.Compact();

    /// <summary>Aborts every open watch connection mid-stream (a reset, not a clean end).</summary>
    public void DropWatches() => _store.DropWatches();

    /// <summary>Open watches get nothing more (events made meanwhile are lost to them) until they are dropped.</summary>
    public void StallWatches() => _store.StallWatches();

    /// <summary>A BOOKMARK at the current resource version on every open watch that allowed bookmarks.</summary>
    public void SendBookmarks() => _store.SendBookmarks();

    /// <summary>Writes <paramref name="line"/> as is on every open watch of the resource (e.g. an event a client cannot decode).</summary>
    public void SendRawWatchLine(ApiResource resource, string line) => _store.SendRawLine(FakeResource.Of(resource), line);

    /// <summary>The next <paramref name="times"/> requests that <paramref name="match"/> selects get this status and a Status body.</summary>
    public void FailRequests(Func<FakeApiRequest, bool> match, HttpStatusCode status, string reason, int times = 1)
    {
        lock (_lock)
        {
            _failures.Add(new InjectedFailure(match, status, reason, times));
        }
    }

    /// <summary>The API server goes away: open watches are cut, and connections are refused until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_app is null)
        {
            return;
        }

        _bookmarkTimer?.Dispose();
        _bookmarkTimer = null;
        _store.DropWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    /// <summary>The API server comes back on the same port, with everything it had and every change made while it was away.</summary>
    public Task StartAgainAsync() => _app is null ? ListenAsync(Port) : Task.CompletedTask;

    /// <summary>Lists started (first pages) of the resource.</summary>
    public int ListsStarted(ApiResource resource) => Read(resource, static s => s.ListsStarted);

    /// <summary>List pages served, first pages included.</summary>
    public int ListPages(ApiResource resource) => Read(resource, static s => s.ListPages);

    /// <summary>Watch requests accepted.</summary>
    public int WatchesStarted(ApiResource resource) => Read(resource, static s => s.WatchesStarted);

    public int OpenWatches(ApiResource resource) => Read(resource, static s => s.OpenWatches);

    /// <summary>The <c>resourceVersion</c> each watch request asked for, in order.</summary>
    public IReadOnlyList<string?> WatchVersions(ApiResource resource)
    {
        lock (_lock)
        {
            return [.. _served[resource.Resource].WatchVersions];
        }
    }

    /// <summary>Requests answered with an injected failure.</summary>
    public int FailuresServed
    {
        get
        {
            lock (_lock)
            {
                return _failuresServed;
            }
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task ListenAsync(int port)
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, port));
        // Watches are cut before stopping, so nothing is left to drain; do not wait the default 30 s for it.
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(2));
        WebApplication app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
        _app = app;
        if (_bookmarkInterval is { } interval)
        {
            _bookmarkTimer = new Timer(_ => _store.SendBookmarks(), null, interval, interval);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        if (!HttpMethods.IsGet(request.Method))
        {
            await WriteStatusAsync(context, HttpStatusCode.MethodNotAllowed, "MethodNotAllowed",
                $"the fake API server serves GET only, not {request.Method}");
            return;
        }

        if (!TryRoute(request.Path.Value ?? "", out FakeResource? resource, out string? ns, out string? name))
        {
            await WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");
            return;
        }

        IQueryCollection query = request.Query;
        foreach (string unsupported in (string[])["labelSelector", "fieldSelector", "resourceVersionMatch", "sendInitialEvents"])
        {
            if (query.ContainsKey(unsupported))
            {
                await WriteStatusAsync(context, HttpStatusCode.BadRequest, "BadRequest", $"the fake API server does not support {unsupported}");
                return;
            }
        }

        bool watch = (string?)query["watch"] is "true" or "1";
        var described = new FakeApiRequest(resource.Api, ns, name, watch, query["resourceVersion"], query["continue"]);
        if (TakeFailure(described) is { } failure)
        {
            await WriteStatusAsync(context, failure.Status, failure.Reason, $"injected by the test: {failure.Reason}");
            return;
        }

        if (name is not null)
        {
            await GetAsync(context, resource, ns, name);
        }
        else if (watch)
        {
            await WatchAsync(context, resource, ns, query);
        }
        else
        {
            await ListAsync(context, resource, ns, query);
        }
    }

    // /api/v1/{resource}[/{name}] for cluster-scoped, /…/namespaces/{ns}/{resource}[/{name}] and /…/{resource} for namespaced.
    private static bool TryRoute(string path, out FakeResource resource, out string? ns, out string? name)
    {
        foreach (FakeResource candidate in FakeResource.All)
        {
            if (!path.StartsWith(candidate.PathPrefix + "/", StringComparison.Ordinal))
            {
                continue;
            }

            string[] parts = path[(candidate.PathPrefix.Length + 1)..].TrimEnd('/').Split('/');
            resource = candidate;
            if (parts[0] == candidate.Api.Resource && (parts.Length == 1 || (parts.Length == 2 && !candidate.Namespaced)))
            {
                ns = null;
                name = parts.Length == 2 ? parts[1] : null;
                return true;
            }

            if (candidate.Namespaced && parts.Length is 3 or 4 && parts[0] == "namespaces" && parts[2] == candidate.Api.Resource)
            {
                ns = parts[1];
                name = parts.Length == 4 ? parts[3] : null;
                return true;
            }
        }

        resource = null!;
        ns = name = null;
        return false;
    }

    private async Task GetAsync(HttpContext context, FakeResource resource, string? ns, string name)
    {
        if (_store.Get(resource, ns, name) is not { } obj)
        {
            await WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound", $"{resource.Api.Resource} \"{name}\" not found");
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(obj.ToJsonString());
    }

    private async Task ListAsync(HttpContext context, FakeResource resource, string? ns, IQueryCollection query)
    {
        int limit = int.TryParse(query["limit"], out int l) && l > 0 ? l : int.MaxValue;
        string? continueToken = query["continue"];
        long? revision = null;
        string start = "";
        if (!string.IsNullOrEmpty(continueToken) && !ContinueToken.TryParse(continueToken, out revision, out start))
        {
            await WriteStatusAsync(context, HttpStatusCode.BadRequest, "BadRequest", "continue key is not valid");
            return;
        }

        if (_store.List(resource, revision) is not { } listed)
        {
            // The real server's words for a continue token whose snapshot etcd has compacted away.
            await WriteStatusAsync(context, HttpStatusCode.Gone, "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list " +
                "without the continue parameter, or use the continue value from the response to start a new list.");
            return;
        }

        (IReadOnlyList<ListedObject> objects, long listedAt) = listed;
        Count(resource, s =>
        {
            s.ListPages++;
            s.ListsStarted += string.IsNullOrEmpty(continueToken) ? 1 : 0;
        });

        List<ListedObject> remaining = [.. objects.Where(o =>
            (ns is null || o.Namespace == ns) && string.CompareOrdinal(o.Key, start) >= 0)];
        List<ListedObject> page = [.. remaining.Take(limit)];
        var metadata = new StringBuilder($"\"resourceVersion\":\"{listedAt}\"");
        if (remaining.Count > page.Count)
        {
            // Like etcd's: the next page starts just after this page's last key.
            string next = ContinueToken.Encode(listedAt, page[^1].Key + "\0");
            metadata.Append($",\"continue\":\"{next}\",\"remainingItemCount\":{remaining.Count - page.Count}");
        }

        string kind = resource.Api.Kind + "List";
        string body = $$"""{"kind":"{{kind}}","apiVersion":"{{resource.ApiVersion}}","metadata":{{{metadata}}},"items":[{{string.Join(',', page.Select(static o => o.Json))}}]}""";
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body);
    }

    private async Task WatchAsync(HttpContext context, FakeResource resource, string? ns, IQueryCollection query)
    {
        string? version = query["resourceVersion"];
        long? from = null;
        if (!string.IsNullOrEmpty(version) && version != "0")
        {
            if (!long.TryParse(version, out long parsed))
            {
                await WriteStatusAsync(context, HttpStatusCode.BadRequest, "BadRequest", $"invalid resource version: {version}");
                return;
            }

            from = parsed;
        }

        bool bookmarks = (string?)query["allowWatchBookmarks"] is "true" or "1";
        int seconds = int.TryParse(query["timeoutSeconds"], out int t) && t > 0 ? t : DefaultWatchSeconds;
        Count(resource, s =>
        {
            s.WatchesStarted++;
            s.WatchVersions.Add(version);
        });

        // As the real server: 200 and the headers at once, then one JSON event per line, each flushed as a chunk.
        context.Response.StatusCode = (int)HttpStatusCode.OK;
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync();

        StoreWatch? watch = _store.Watch(resource, ns, from, bookmarks);
        if (watch is null)
        {
            string status = StatusJson(HttpStatusCode.Gone, "Expired", $"too old resource version: {from} ({_store.CompactedAt})");
            await context.Response.WriteAsync($$"""{"type":"ERROR","object":{{status}}}""" + "\n");
            return;
        }

        Count(resource, static s => s.OpenWatches++);
        using var end = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, watch.Dropped);
        end.CancelAfter(TimeSpan.FromSeconds(seconds));
        try
        {
            while (await watch.Lines.Reader.WaitToReadAsync(end.Token))
            {
                while (watch.Lines.Reader.TryRead(out string? line))
                {
                    await context.Response.WriteAsync(line + "\n", context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The timeout (a clean end of the stream), the client leaving, or DropWatches (aborted below).
        }
        finally
        {
            _store.Unwatch(watch);
            Count(resource, static s => s.OpenWatches--);
        }

        if (watch.Dropped.IsCancellationRequested)
        {
            context.Abort();
        }
    }

    private static async Task WriteStatusAsync(HttpContext context, HttpStatusCode code, string reason, string message)
    {
        context.Response.StatusCode = (int)code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(StatusJson(code, reason, message));
    }

    private static string StatusJson(HttpStatusCode code, string reason, string message) => new JsonObject
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = (int)code,
    }.ToJsonString();

    private InjectedFailure? TakeFailure(FakeApiRequest request)
    {
        lock (_lock)
        {
            InjectedFailure? failure = _failures.FirstOrDefault(f => f.Match(request));
            if (failure is null)
            {
                return null;
            }

            if (--failure.Remaining == 0)
            {
                _failures.Remove(failure);
            }

            _failuresServed++;
            return failure;
        }
    }

    private void Count(FakeResource resource, Action<Served> change)
    {
        lock (_lock)
        {
            change(_served[resource.Api.Resource]);
        }
    }

    private int Read(ApiResource resource, Func<Served, int> counter)
    {
        lock (_lock)
        {
            return counter(_served[resource.Resource]);
        }
    }

    private sealed class Served
    {
        public int ListsStarted;
        public int ListPages;
        public int WatchesStarted;
        public int OpenWatches;
        public readonly List<string?> WatchVersions = [];
    }

    private sealed class InjectedFailure(Func<FakeApiRequest, bool> match, HttpStatusCode status, string reason, int times)
    {
        public Func<FakeApiRequest, bool> Match { get; } = match;

        public HttpStatusCode Status { get; } = status;

        public string Reason { get; } = reason;

        public int Remaining { get; set; } = times;
    }

    // The real token is base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"key\u0000"}; so is this one.
    private static class ContinueToken
    {
        public static string Encode(long revision, string start) => Convert.ToBase64String(Encoding.UTF8.GetBytes(
            new JsonObject { ["v"] = "meta.k8s.io/v1", ["rv"] = revision, ["start"] = start }.ToJsonString()));

        public static bool TryParse(string token, out long? revision, out string start)
        {
            revision = null;
            start = "";
            try
            {
                JsonNode? node = JsonNode.Parse(Convert.FromBase64String(token));
                revision = (long?)node?["rv"];
                start = (string?)node?["start"] ?? "";
                return revision is not null;
            }
            catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException)
            {
                return false;
            }
        }
    }
}

/// <summary>What a request to <see cref="FakeApiServer"/> asked for, for <see cref="FakeApiServer.FailRequests"/> to match.</summary>
public sealed record FakeApiRequest(ApiResource Resource, string? Namespace, string? Name, bool Watch, string? ResourceVersion, string? Continue);
