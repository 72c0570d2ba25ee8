using System.Net;
using System.Text.Json.Nodes;
using Dataplane.Kubernetes;
using k8s.Models;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// The test double speaks the API server's wire protocol, checked over plain HTTP: what KubernetesClient cannot see
/// (chunking, list item shape, paging over a snapshot) is what a wrong double would get wrong silently.
/// </summary>
[Trait("Category", "unit")]
public class FakeApiServerTests
{
    [Fact]
    public async Task Watch_is_chunked_json_with_one_event_per_line_replaying_history_after_the_version()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        string before = server.ResourceVersion;
        string added = server.UpsertFixture(ApiFixtures.Service);
        string modified = server.UpsertFixture(ApiFixtures.Service);
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        using HttpResponseMessage response = await http.GetAsync(
            $"api/v1/services?watch=true&resourceVersion={before}&allowWatchBookmarks=true&timeoutSeconds=1",
            HttpCompletionOption.ResponseHeadersRead);
        using var lines = new StreamReader(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.TransferEncodingChunked);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        JsonNode first = JsonNode.Parse((await lines.ReadLineAsync())!)!;
        JsonNode second = JsonNode.Parse((await lines.ReadLineAsync())!)!;
        Assert.Equal(("ADDED", "Service", "v1", added), ((string?)first["type"], (string?)first["object"]!["kind"],
            (string?)first["object"]!["apiVersion"], (string?)first["object"]!["metadata"]!["resourceVersion"]));
        Assert.Equal(("MODIFIED", modified), ((string?)second["type"], (string?)second["object"]!["metadata"]!["resourceVersion"]));
        Assert.Equal((string?)first["object"]!["metadata"]!["uid"], (string?)second["object"]!["metadata"]!["uid"]);
        // timeoutSeconds=1: then the server ends the stream cleanly.
        Assert.Null(await lines.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Watch_from_a_compacted_version_gets_the_410_error_event_and_the_stream_ends()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        string old = server.UpsertFixture(ApiFixtures.Node);
        server.UpsertFixture(ApiFixtures.Node);
        server.Compact();
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        using HttpResponseMessage response = await http.GetAsync($"api/v1/nodes?watch=true&resourceVersion={old}",
            HttpCompletionOption.ResponseHeadersRead);
        using var lines = new StreamReader(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        JsonNode error = JsonNode.Parse((await lines.ReadLineAsync())!)!;
        Assert.Equal("ERROR", (string?)error["type"]);
        JsonNode status = error["object"]!;
        Assert.Equal(("Status", "Failure", "Expired", 410), ((string?)status["kind"], (string?)status["status"],
            (string?)status["reason"], (int?)status["code"]));
        Assert.StartsWith($"too old resource version: {old} (", (string?)status["message"]);
        Assert.Null(await lines.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Paged_list_reads_one_snapshot_until_compaction_expires_its_continue_token()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        foreach (string name in (string[])["a", "b", "c"])
        {
            server.Upsert(new V1EndpointSlice { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" }, AddressType = "IPv4" });
        }

        using var http = new HttpClient { BaseAddress = server.BaseUri };
        JsonNode first = JsonNode.Parse(await http.GetStringAsync("apis/discovery.k8s.io/v1/endpointslices?limit=2"))!;
        string version = (string)first["metadata"]!["resourceVersion"]!;
        string token = (string)first["metadata"]!["continue"]!;
        server.Upsert(new V1EndpointSlice { Metadata = new V1ObjectMeta { Name = "a0", NamespaceProperty = "default" }, AddressType = "IPv4" });
        JsonNode second = JsonNode.Parse(await http.GetStringAsync($"apis/discovery.k8s.io/v1/endpointslices?limit=2&continue={Uri.EscapeDataString(token)}"))!;

        Assert.Equal(("EndpointSliceList", "discovery.k8s.io/v1"), ((string?)first["kind"], (string?)first["apiVersion"]));
        Assert.Equal(1, (int?)first["metadata"]!["remainingItemCount"]);
        Assert.Equal(["a", "b"], first["items"]!.AsArray().Select(static i => (string)i!["metadata"]!["name"]!));
        // Items carry neither kind nor apiVersion, as the real server's lists do.
        Assert.Null(first["items"]![0]!["kind"]);
        // The second page is from the first page's snapshot: "a0", made between the pages, is not in it.
        Assert.Equal(["c"], second["items"]!.AsArray().Select(static i => (string)i!["metadata"]!["name"]!));
        Assert.Equal(version, (string?)second["metadata"]!["resourceVersion"]);
        Assert.Null(second["metadata"]!["continue"]);

        server.Compact();
        using HttpResponseMessage expired = await http.GetAsync($"apis/discovery.k8s.io/v1/endpointslices?limit=2&continue={Uri.EscapeDataString(token)}");
        JsonNode status = JsonNode.Parse(await expired.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.Gone, expired.StatusCode);
        Assert.Equal(("Status", "Expired", 410), ((string?)status["kind"], (string?)status["reason"], (int?)status["code"]));
    }

    [Fact]
    public async Task Namespaced_routes_filter_and_unknown_objects_are_404_status()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.UpsertFixture(ApiFixtures.Service);
        server.Upsert(new V1Service { Metadata = new V1ObjectMeta { Name = "dns", NamespaceProperty = "kube-system" } });
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        JsonNode kubeSystem = JsonNode.Parse(await http.GetStringAsync("api/v1/namespaces/kube-system/services"))!;
        JsonNode web = JsonNode.Parse(await http.GetStringAsync("api/v1/namespaces/default/services/web"))!;
        using HttpResponseMessage missing = await http.GetAsync("api/v1/nodes/node-z");
        using HttpResponseMessage selector = await http.GetAsync("api/v1/services?labelSelector=app%3Dweb");

        Assert.Equal(["dns"], kubeSystem["items"]!.AsArray().Select(static i => (string)i!["metadata"]!["name"]!));
        Assert.Equal(("Service", "10.96.0.10"), ((string?)web["kind"], (string?)web["spec"]!["clusterIP"]));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("NotFound", (string?)JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["reason"]);
        Assert.Equal(HttpStatusCode.BadRequest, selector.StatusCode);
    }

    [Fact]
    public async Task Restart_keeps_the_port_and_the_objects()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.UpsertFixture(ApiFixtures.Node);
        int port = server.Port;
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        await server.StopAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync("api/v1/nodes"));
        server.Delete(ApiResources.Nodes, null, "node-a");
        await server.StartAgainAsync();
        JsonNode nodes = JsonNode.Parse(await http.GetStringAsync("api/v1/nodes"))!;

        Assert.Equal(port, server.Port);
        Assert.Empty(nodes["items"]!.AsArray());
        Assert.Equal(server.ResourceVersion, (string?)nodes["metadata"]!["resourceVersion"]);
    }
}
