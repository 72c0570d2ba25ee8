using System.Net;
using System.Text.Json;
using Dataplane.Kubernetes;
using Dataplane.Tests.Kubernetes;
using k8s.Models;
using static Dataplane.Tests.Ingress.IngressModels;

namespace Dataplane.Tests.Ingress;

/// <summary>
/// The controller following the API server's watch (<see cref="FakeApiServer"/>): EndpointSlice, Ingress, Service and
/// Secret changes reach the proxy without a restart.
/// </summary>
[Trait("Category", "unit")]
public sealed class IngressApiTests : IAsyncLifetime
{
    private const string Ns = "shop";
    private FakeApiServer _api = null!;
    private IngressBackendServer _one = null!;
    private IngressBackendServer _two = null!;
    private RunningIngress? _ingress;

    public async Task InitializeAsync()
    {
        _api = await FakeApiServer.StartAsync();
        // Two pods of one service listen on the same port (as pods do), so one slice lists both.
        for (int attempt = 0; ; attempt++)
        {
            _one = await IngressBackendServer.StartAsync("one", "127.0.0.41");
            try
            {
                _two = await IngressBackendServer.StartAsync("two", "127.0.0.42", _one.Port);
                break;
            }
            catch (IOException) when (attempt < 5)
            {
                await _one.DisposeAsync();
            }
        }

        _api.Upsert(ServiceObject(Ns, "web", "10.96.0.41", ("http", 80, "web")));
        _api.Upsert(Slice(Ns, "web", "web-abc", [("http", _one.Port)], (_one.Ip, true), (_two.Ip, true)));
        _api.Upsert(IngressObject(Ns, "web", [Rule("a.example.com", Path("/", "Prefix", "web", "http"))]));
    }

    public async Task DisposeAsync()
    {
        if (_ingress is not null)
        {
            await _ingress.DisposeAsync();
        }

        await _api.DisposeAsync();
        await _one.DisposeAsync();
        await _two.DisposeAsync();
    }

    [Fact]
    public async Task A_backend_removed_from_the_endpoint_slice_stops_receiving_requests()
    {
        _ingress = await RunningIngress.StartFromApiAsync(_api);
        await UntilAsync(async () =>
        {
            await _ingress.GetAsync("a.example.com", "/");
            return _one.Requests > 0 && _two.Requests > 0;
        }, "both endpoints to receive requests");

        _api.Upsert(Slice(Ns, "web", "web-abc", [("http", _one.Port)], (_one.Ip, true)));
        await UntilAsync(async () => (await Destinations()).SequenceEqual([$"{_one.Ip}:{_one.Port}"]), "the slice change to reach the routes");
        _one.ResetCount();
        _two.ResetCount();
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal("one", (await _ingress.GetAsync("a.example.com", "/")).Echo?.Name);
        }

        Assert.Equal((20, 0), (_one.Requests, _two.Requests));
    }

    [Fact]
    public async Task Ingress_service_and_secret_changes_from_the_watch_are_served()
    {
        var logger = new RecordingLogger();
        _ingress = await RunningIngress.StartFromApiAsync(_api, logger);
        await UntilAsync(async () => (await _ingress.GetAsync("a.example.com", "/")).Status == HttpStatusCode.OK, "the first snapshot");

        // TLS named before its Secret exists: the fallback certificate, and a warning naming the Ingress and the Secret.
        _api.Upsert(IngressObject(Ns, "web", [Rule("a.example.com", Path("/", "Prefix", "web", "http"))], tls: [Tls("a-tls", "a.example.com")]));
        await UntilAsync(async () => (await Warnings()).Contains("Ingress shop/web: tls[0]: Secret shop/a-tls does not exist; a.example.com get the fallback certificate"), "the missing Secret's warning");
        Assert.Equal(Dataplane.Ingress.Tls.FallbackCertificate.Subject, (await _ingress.GetTlsAsync("a.example.com", "/", HttpVersion.Version20)).Certificate.Subject);
        TestCertificate certificate = TestCertificate.Create("a.example.com");
        _api.Upsert(TlsSecret(Ns, "a-tls", certificate.CertificatePem, certificate.KeyPem));
        await UntilAsync(async () => (await _ingress.GetTlsAsync("a.example.com", "/", HttpVersion.Version20)).Certificate.Thumbprint == certificate.Thumbprint, "the Secret's certificate");

        // The Service's port renamed (and its slice, as the EndpointSlice controller follows): the Ingress's port name
        // no longer resolves, and the path answers 503.
        _api.Upsert(ServiceObject(Ns, "web", "10.96.0.41", ("web", 80, "web")));
        _api.Upsert(Slice(Ns, "web", "web-abc", [("web", _one.Port)], (_one.Ip, true), (_two.Ip, true)));
        await UntilAsync(async () => (await _ingress.GetAsync("a.example.com", "/")).Status == HttpStatusCode.ServiceUnavailable, "the renamed port to answer 503");
        const string renamed = "Ingress shop/web: host a.example.com path / (Prefix): service shop/web has no TCP port named 'http' (it has: 80 (web)); answers 503";
        Assert.Single(logger.Records, static r => r.Level == Microsoft.Extensions.Logging.LogLevel.Warning && r.Message == renamed);

        // Another change while the problem lasts: a new snapshot, and the same warning is not logged again.
        _api.Upsert(IngressObject(Ns, "web", [Rule("a.example.com", Path("/", "Prefix", "web", "http"), Path("/new", "Exact", "web", 80))], tls: [Tls("a-tls", "a.example.com")]));
        await UntilAsync(async () => (await _ingress.GetAsync("a.example.com", "/new")).Echo is not null, "the new path");
        Assert.Single(logger.Records, static r => r.Message == renamed);

        _api.Delete(ApiResources.Ingresses, Ns, "web");
        await UntilAsync(async () => (await _ingress.GetAsync("a.example.com", "/")).Status == HttpStatusCode.NotFound, "the deleted Ingress to answer 404");
        using JsonDocument status = await _ingress.StatusAsync();
        Assert.Equal(["ingresses", "ingressclasses", "services", "endpointslices", "secrets"],
            status.RootElement.GetProperty("source").GetProperty("informers").EnumerateArray().Select(static i => i.GetProperty("resource").GetString()));
    }

    private async Task<string[]> Destinations()
    {
        using JsonDocument status = await _ingress!.StatusAsync();
        return [.. status.RootElement.GetProperty("routes")[0].GetProperty("destinations").EnumerateArray().Select(static d => d.GetString()!)];
    }

    private async Task<string[]> Warnings()
    {
        using JsonDocument status = await _ingress!.StatusAsync();
        return [.. status.RootElement.GetProperty("warnings").EnumerateArray().Select(static w => w.GetString()!)];
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > RunningIngress.Deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(20);
        }
    }
}
