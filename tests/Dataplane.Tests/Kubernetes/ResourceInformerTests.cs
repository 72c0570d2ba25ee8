using System.Net;
using Dataplane.Kubernetes;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// The informer against <see cref="FakeApiServer"/>, over the real KubernetesClient and real HTTP: the list, the
/// watch and every way the connection breaks. Waits are on conditions with deadlines, never on the clock.
/// </summary>
[Trait("Category", "unit")]
public class ResourceInformerTests
{
    // Small pages, so a handful of objects already takes several (the default is 500); short backoffs, so recovery
    // takes milliseconds; watches that outlast any test unless a test shortens them.
    private static readonly InformerOptions s_options = new()
    {
        PageSize = 2,
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(400),
    };

    private static readonly ApiResource Services = ApiResources.Services;

    [Fact]
    public async Task Initial_list_pages_through_every_object_then_watch_events_reach_the_handler()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.UpsertFixture(ApiFixtures.Service);
        for (int i = 0; i < 4; i++)
        {
            server.Upsert(Service($"svc-{i}"));
        }

        server.Upsert(Service("other", ns: "kube-system"));

        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();

        // Six objects, two a page: three pages of one list.
        Assert.Equal(3, server.ListPages(Services));
        Assert.Equal(1, server.ListsStarted(Services));
        IReadOnlyList<string> synced = Assert.Single(run.Handler.Syncs);
        Assert.Equal(["default/svc-0", "default/svc-1", "default/svc-2", "default/svc-3", "default/web", "kube-system/other"], synced);
        Assert.Equal(6, run.Informer.Cache.Count);
        Assert.Equal(server.ResourceVersion, run.Status.ResourceVersion);
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");

        server.Upsert(Service("added"));
        string modifiedVersion = server.Upsert(Service("svc-1", clusterIp: "10.96.7.7"));
        Assert.True(server.Delete(Services, "default", "svc-0"));
        run.WaitUntil(() => run.Handler.Saw("Deleted default/svc-0"), "the deletion to reach the handler");

        Assert.Equal(["Synced 6", "Upserted default/added", "Upserted default/svc-1", "Deleted default/svc-0"], run.Handler.Calls);
        Assert.True(run.Informer.Cache.TryGet("default/svc-1", out V1Service modified));
        Assert.Equal("10.96.7.7", modified.Spec.ClusterIP);
        Assert.Equal(modifiedVersion, modified.Metadata.ResourceVersion);
        Assert.False(run.Informer.Cache.TryGet("default/svc-0", out _));
        Assert.Equal(3, run.Status.Events);
        Assert.Equal(server.ResourceVersion, run.Status.ResourceVersion);
        Assert.Equal(InformerState.Watching, run.Status.State);
    }

    [Fact]
    public async Task Bookmark_advances_the_resource_version_without_calling_the_handler()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.UpsertFixture(ApiFixtures.Service);
        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");
        string listed = run.Status.ResourceVersion!;

        // A change of another kind moves the one global counter on; only a bookmark tells the services watch.
        string nodeVersion = server.UpsertFixture(ApiFixtures.Node);
        server.SendBookmarks();
        run.WaitUntil(() => run.Status.Bookmarks == 1, "the bookmark");

        Assert.NotEqual(listed, nodeVersion);
        Assert.Equal(nodeVersion, run.Status.ResourceVersion);
        Assert.Equal(["Synced 1"], run.Handler.Calls);
        Assert.Equal(0, run.Status.Events);

        // And the next watch starts from the bookmark's version, not the list's.
        server.DropWatches();
        run.WaitUntil(() => server.WatchesStarted(Services) == 2, "the watch to be opened again");
        Assert.Equal([listed, nodeVersion], server.WatchVersions(Services));
    }

    [Fact]
    public async Task Dropped_watch_resumes_from_the_last_resource_version_without_a_list_and_loses_no_event()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Upsert(Service("a"));
        server.Upsert(Service("c"));
        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");
        string lastSeen = server.Upsert(Service("a", clusterIp: "10.96.1.1"));
        run.WaitUntil(() => run.Status.ResourceVersion == lastSeen, "the update of a");

        // These happen while the connection hangs, so this stream never carries them; then it is cut.
        server.StallWatches();
        server.Upsert(Service("b"));
        server.Delete(Services, "default", "c");
        server.DropWatches();

        run.WaitUntil(() => run.Handler.Saw("Deleted default/c"), "the deletion made during the outage");
        Assert.Equal(["Synced 2", "Upserted default/a", "Upserted default/b", "Deleted default/c"], run.Handler.Calls);
        Assert.Equal(1, server.ListsStarted(Services));
        Assert.Equal(1, run.Status.Lists);
        Assert.Equal(lastSeen, server.WatchVersions(Services)[^1]);
        Assert.True(run.Status.WatchRestarts >= 1);
        Assert.NotNull(run.Status.LastError);
        Assert.Equal(["default/a", "default/b"], run.Handler.View.Keys.Order(StringComparer.Ordinal));
        run.WaitUntil(() => run.Status.DisconnectedSince is null, "the informer to count itself connected again");
    }

    [Fact]
    public async Task Compacted_history_forces_a_relist_whose_full_set_lacks_what_was_deleted_meanwhile()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        foreach (string name in (string[])["a", "b", "c"])
        {
            server.Upsert(Service(name));
        }

        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");

        server.StallWatches();
        server.Delete(Services, "default", "b");
        server.Upsert(Service("d"));
        server.Compact();
        server.DropWatches();

        // The watch from the old version gets the ERROR event (410 Expired); the informer lists again.
        run.WaitUntil(() => run.Handler.Syncs.Count == 2, "the second list");
        Assert.Equal(["default/a", "default/c", "default/d"], run.Handler.Syncs[1]);
        Assert.Equal(["Synced 3", "Synced 3"], run.Handler.Calls);
        Assert.Equal(["default/a", "default/c", "default/d"], run.Handler.View.Keys.Order(StringComparer.Ordinal));
        Assert.False(run.Informer.Cache.TryGet("default/b", out _));
        Assert.Equal(2, server.ListsStarted(Services));
        Assert.Equal(1, run.Status.RelistsAfterExpired);
        Assert.Equal(server.ResourceVersion, run.Status.ResourceVersion);
        Assert.Contains(run.Logger.Records, r => r.Level == LogLevel.Information && r.Message.Contains("too old resource version"));
    }

    [Fact]
    public async Task Http_410_on_the_watch_request_also_forces_a_relist()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Upsert(Service("a"));
        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");

        server.FailRequests(static r => r.Watch, HttpStatusCode.Gone, "Expired");
        server.DropWatches();

        run.WaitUntil(() => run.Handler.Syncs.Count == 2, "the list after the 410");
        Assert.Equal(1, server.FailuresServed);
        Assert.Equal(1, run.Status.RelistsAfterExpired);
        Assert.Equal(2, server.ListsStarted(Services));
    }

    [Fact]
    public async Task Expired_continue_token_starts_the_list_again_from_the_first_page()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        for (int i = 0; i < 5; i++)
        {
            server.Upsert(Service($"svc-{i}"));
        }

        server.FailRequests(static r => !r.Watch && r.Continue is not null, HttpStatusCode.Gone, "Expired");
        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();

        // Page one, then 410 on page two; then a whole new list of three pages. The handler sees only the whole one.
        Assert.Equal(1, server.FailuresServed);
        Assert.Equal(2, server.ListsStarted(Services));
        Assert.Equal(4, server.ListPages(Services));
        IReadOnlyList<string> synced = Assert.Single(run.Handler.Syncs);
        Assert.Equal(5, synced.Count);
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_and_shown_in_the_status()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Upsert(Service("a"));
        server.FailRequests(static r => !r.Watch, HttpStatusCode.ServiceUnavailable, "ServiceUnavailable", times: 3);

        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();

        Assert.Equal(3, server.FailuresServed);
        Assert.Equal(1, server.ListsStarted(Services));
        Assert.Equal(1, run.Status.Lists);
        Assert.StartsWith("HTTP 503 ServiceUnavailable", run.Status.LastError);
        Assert.NotNull(run.Status.LastErrorAt);
        Assert.Null(run.Status.DisconnectedSince);
        Assert.Equal(3, run.Logger.Records.Count(static r => r.Level == LogLevel.Warning && r.Message.Contains("HTTP 503")));
    }

    [Fact]
    public async Task Stopped_api_server_shows_as_disconnected_and_the_cache_keeps_the_last_state()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.UpsertFixture(ApiFixtures.Service);
        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");
        string version = run.Status.ResourceVersion!;

        await server.StopAsync();

        run.WaitUntil(() => run.Status is { State: InformerState.Backoff, DisconnectedSince: not null, BackoffUntil: not null },
            "the informer to report the outage");
        run.WaitUntil(() => run.Status.LastError?.Contains("Connection refused") == true, "a refused connection in the status");
        Assert.True(run.Informer.Cache.TryGet("default/web", out _));
        Assert.Equal(1, run.Informer.Cache.Count);
        Assert.Equal(["Synced 1"], run.Handler.Calls);
        Assert.Equal(version, run.Status.ResourceVersion);
        Assert.True(run.Status.HasSynced);
    }

    [Fact]
    public async Task Restarted_api_server_brings_the_changes_made_while_it_was_away()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.UpsertFixture(ApiFixtures.Service);
        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");
        string version = run.Status.ResourceVersion!;

        await server.StopAsync();
        run.WaitUntil(() => run.Status.DisconnectedSince is not null, "the informer to notice the outage");
        server.Upsert(Service("new"));
        server.Delete(Services, "default", "web");
        await server.StartAgainAsync();

        run.WaitUntil(() => run.Handler.Saw("Deleted default/web"), "the changes made during the outage");
        Assert.Equal(["Synced 1", "Upserted default/new", "Deleted default/web"], run.Handler.Calls);
        Assert.Equal(1, server.ListsStarted(Services));
        Assert.Equal(version, server.WatchVersions(Services)[^1]);
        Assert.Null(run.Status.DisconnectedSince);
        Assert.Equal(["default/new"], run.Informer.Cache.Snapshot.Keys);
    }

    [Fact]
    public async Task A_handler_that_throws_does_not_stop_the_informer()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Upsert(Service("a"));
        var handler = new RecordingHandler<V1Service> { ThrowOn = static call => call is "Synced 1" or "Upserted default/bad" };
        await using InformerRun<V1Service> run = StartServices(server, handler: handler);
        run.WaitForSync();
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");

        server.Upsert(Service("bad"));
        server.Upsert(Service("good"));
        run.WaitUntil(() => run.Handler.Saw("Upserted default/good"), "the event after the failing one");

        Assert.Equal(["Synced 1", "Upserted default/bad", "Upserted default/good"], run.Handler.Calls);
        Assert.Equal(2, run.Status.HandlerFailures);
        Assert.Equal(1, server.ListsStarted(Services));
        Assert.Equal(1, server.WatchesStarted(Services));
        Assert.Equal(2, run.Logger.Records.Count(static r => r.Level == LogLevel.Error && r.Exception is InvalidOperationException));
        Assert.True(run.Status.HasSynced);
    }

    [Fact]
    public async Task An_undecodable_watch_event_is_skipped_and_the_watch_goes_on()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");

        // Valid JSON, but spec.ports is not a list: KubernetesClient cannot make a V1Service of it.
        server.SendRawWatchLine(Services,
            """{"type":"ADDED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"broken","namespace":"default","resourceVersion":"1"},"spec":{"ports":"80"}}}""");
        server.SendRawWatchLine(Services, "this is not JSON");
        server.Upsert(Service("good"));
        run.WaitUntil(() => run.Handler.Saw("Upserted default/good"), "the event after the undecodable ones");

        Assert.Equal(2, run.Status.UndecodableEvents);
        Assert.Equal(["Synced 0", "Upserted default/good"], run.Handler.Calls);
        Assert.Equal(1, server.WatchesStarted(Services));
        Assert.Equal(2, run.Logger.Records.Count(static r => r.Level == LogLevel.Warning && r.Message.Contains("could not be read")));
    }

    [Fact]
    public async Task A_watch_the_server_ends_is_opened_again_from_its_last_version_without_a_list()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Upsert(Service("a"));
        // timeoutSeconds of 2 (the least the informer asks for): the server ends each watch cleanly, events or not.
        await using InformerRun<V1Service> run = StartServices(server, s_options with { MinWatchTimeout = TimeSpan.FromSeconds(2) });
        run.WaitForSync();
        string listed = run.Status.ResourceVersion!;
        run.WaitUntil(() => server.WatchesStarted(Services) >= 2, "a second watch after the first ended");
        string changed = server.Upsert(Service("b"));
        run.WaitUntil(() => server.WatchVersions(Services)[^1] == changed, "a watch from the version of the change");

        Assert.Equal(1, server.ListsStarted(Services));
        Assert.Equal(["Synced 1", "Upserted default/b"], run.Handler.Calls);
        Assert.All(server.WatchVersions(Services), v => Assert.Contains(v, (string[])[listed, changed]));
        Assert.Null(run.Status.LastError);
        Assert.True(run.Status.WatchRestarts >= 2);
    }

    [Fact]
    public async Task A_watch_error_event_other_than_410_reconnects_from_the_same_version()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Upsert(Service("a"));
        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");
        string version = run.Status.ResourceVersion!;

        server.SendRawWatchLine(Services,
            """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: leader changed","reason":"InternalError","code":500}}""");

        run.WaitUntil(() => server.WatchesStarted(Services) == 2, "the watch to be opened again");
        Assert.Equal([version, version], server.WatchVersions(Services));
        Assert.Equal(1, server.ListsStarted(Services));
        Assert.Equal(0, run.Status.RelistsAfterExpired);
        Assert.Equal("watch error 500 InternalError: etcdserver: leader changed", run.Status.LastError);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stopping_cancels_the_open_watch_promptly(bool afterAnEvent)
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Upsert(Service("a"));
        await using InformerRun<V1Service> run = StartServices(server);
        run.WaitForSync();
        run.WaitUntil(() => server.OpenWatches(Services) == 1, "the watch to open");
        if (afterAnEvent)
        {
            // KubernetesClient waits for a watch's first line inside the request, and reads later lines in its
            // enumerator: two different places to cancel.
            server.SendBookmarks();
            run.WaitUntil(() => run.Status.Bookmarks == 1, "the bookmark");
        }

        TimeSpan took = await run.StopAsync();

        // The server would keep this watch open for minutes: anything near that means stopping waited for it.
        Assert.True(took < TimeSpan.FromSeconds(2), $"stopping took {took.TotalMilliseconds:0} ms");
        Assert.True(run.Run.IsCompletedSuccessfully);
        Assert.Equal(InformerState.Stopped, run.Status.State);
        run.WaitUntil(() => server.OpenWatches(Services) == 0, "the server to see the watch connection close");
    }

    [Fact]
    public async Task Stopping_during_a_backoff_does_not_wait_for_it_to_end()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.FailRequests(static _ => true, HttpStatusCode.InternalServerError, "InternalError");
        InformerOptions slow = s_options with { InitialBackoff = TimeSpan.FromMinutes(1), MaxBackoff = TimeSpan.FromMinutes(1) };
        await using InformerRun<V1Service> run = StartServices(server, slow);
        run.WaitUntil(() => run.Status.State == InformerState.Backoff, "the backoff");

        TimeSpan took = await run.StopAsync();

        Assert.True(took < TimeSpan.FromSeconds(2), $"stopping took {took.TotalMilliseconds:0} ms");
        Assert.Equal(InformerState.Stopped, run.Status.State);
        Assert.False(run.Status.HasSynced);
    }

    [Fact]
    public async Task Cluster_informers_read_all_three_resources_in_their_real_json()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        foreach (string fixture in (string[])[ApiFixtures.Service, ApiFixtures.EndpointSliceV4, ApiFixtures.EndpointSliceV6, ApiFixtures.Node])
        {
            server.UpsertFixture(fixture);
        }

        using k8s.IKubernetes client = server.CreateClient();
        var services = new RecordingHandler<V1Service>();
        var slices = new RecordingHandler<V1EndpointSlice>();
        var nodes = new RecordingHandler<V1Node>();
        var informers = new ClusterInformers(client, services, slices, nodes, new RecordingLogger(), s_options);
        using var stop = new CancellationTokenSource();
        Task running = informers.RunAsync(stop.Token);
        try
        {
            await informers.FirstSync.WaitAsync(TimeSpan.FromSeconds(15));

            Assert.True(informers.HasSynced);
            Assert.Equal(["services", "endpointslices", "nodes"], informers.Statuses.Select(static s => s.Resource));
            V1Service web = services.View["default/web"];
            Assert.Equal(["10.96.0.10", "fd00:10:96::a"], web.Spec.ClusterIPs);
            Assert.Equal("http", web.Spec.Ports[0].TargetPort.Value);
            Assert.Equal("5353", web.Spec.Ports[1].TargetPort.Value);

            V1EndpointSlice v4 = slices.View["default/web-7xk2p"];
            Assert.Equal("IPv4", v4.AddressType);
            Assert.Equal("web", v4.Metadata.Labels["kubernetes.io/service-name"]);
            Assert.Equal((true, true, false), (v4.Endpoints[0].Conditions.Ready, v4.Endpoints[0].Conditions.Serving, v4.Endpoints[0].Conditions.Terminating));
            Assert.Equal((false, true, true), (v4.Endpoints[1].Conditions.Ready, v4.Endpoints[1].Conditions.Serving, v4.Endpoints[1].Conditions.Terminating));
            Assert.Equal("node-b", v4.Endpoints[1].NodeName);
            Assert.Equal(("http", 8080), (v4.Ports[0].Name, v4.Ports[0].Port));
            Assert.Equal("fd00:10:244:1::b", Assert.Single(slices.View["default/web-v6q9d"].Endpoints).Addresses[0]);

            V1Node node = nodes.View["node-a"];
            Assert.Equal(["10.244.1.0/24", "fd00:10:244:1::/64"], node.Spec.PodCIDRs);
            Assert.Equal("192.168.77.10", node.Status.Addresses.First(static a => a.Type == "InternalIP").Address);
            Assert.Equal("vxlan", node.Metadata.Annotations["flannel.alpha.coreos.com/backend-type"]);
            Assert.Equal("""{"VNI":1,"VtepMAC":"6e:1d:4a:c2:9b:07"}""", node.Metadata.Annotations["flannel.alpha.coreos.com/backend-data"]);
            Assert.Equal("192.168.77.10", node.Metadata.Annotations["flannel.alpha.coreos.com/public-ip"]);
        }
        finally
        {
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(15));
        }
    }

    private static InformerRun<V1Service> StartServices(FakeApiServer server, InformerOptions? options = null,
        RecordingHandler<V1Service>? handler = null) =>
        new(server, Services, ListerWatchers.Services, options ?? s_options, handler);

    private static V1Service Service(string name, string ns = "default", string clusterIp = "10.96.0.100") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec
        {
            ClusterIP = clusterIp,
            Ports = [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP", TargetPort = 8080 }],
        },
    };
}
