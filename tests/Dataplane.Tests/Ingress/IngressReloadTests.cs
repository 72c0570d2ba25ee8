using System.Net;
using System.Text.Json;
using Dataplane.Tests.Infrastructure;
using static Dataplane.Tests.Ingress.IngressModels;

namespace Dataplane.Tests.Ingress;

/// <summary>SIGHUP's reload (<see cref="Dataplane.Ingress.IngressController.Reload"/>) with an objects file: a route moves without failing what is in flight; a broken file changes nothing.</summary>
[Trait("Category", "unit")]
public sealed class IngressReloadTests : IAsyncLifetime
{
    private const string Ns = "shop";
    private IngressBackendServer _alpha = null!;
    private IngressBackendServer _beta = null!;
    private RunningIngress _ingress = null!;

    public async Task InitializeAsync()
    {
        _alpha = await IngressBackendServer.StartAsync("alpha", "127.0.0.31");
        _beta = await IngressBackendServer.StartAsync("beta", "127.0.0.32");
        _ingress = await RunningIngress.StartFromFileAsync(Objects(routeTo: "alpha"));
    }

    public async Task DisposeAsync()
    {
        await _ingress.DisposeAsync();
        await _alpha.DisposeAsync();
        await _beta.DisposeAsync();
    }

    [Fact]
    public async Task Reloading_moves_a_route_and_the_request_in_flight_on_the_old_one_completes()
    {
        Assert.Equal("alpha", (await _ingress.GetAsync("a.example.com", "/")).Echo?.Name);
        Task<(HttpStatusCode Status, BackendEcho? Echo, string Body)> inFlight = _ingress.GetAsync("a.example.com", "/slow?delayMs=1500");
        Poll.Until(() => _alpha.InFlight == 1, RunningIngress.Deadline, "the slow request to reach alpha");

        await _ingress.WriteObjectsAsync(Objects(routeTo: "beta"));
        Assert.True(_ingress.Controller.Reload());

        // YARP takes the new configuration on its change token; the next requests go to beta.
        await PollAsync(async () => (await _ingress.GetAsync("a.example.com", "/")).Echo?.Name == "beta", "the route to move to beta");
        Assert.Equal(1, _alpha.InFlight);
        (HttpStatusCode status, BackendEcho? echo, _) = await inFlight;
        Assert.Equal((HttpStatusCode.OK, "alpha", "/slow"), (status, echo?.Name, echo?.Path));
        Assert.Equal(2, _ingress.Controller.Current.Generation);
    }

    [Fact]
    public async Task A_reload_of_a_broken_file_keeps_serving_what_was_read_and_says_why()
    {
        await File.WriteAllTextAsync(_ingress.ObjectsPath!, "{ \"kind\": \"List\", \"items\": [ oops");

        Assert.False(_ingress.Controller.Reload());

        Assert.Equal("alpha", (await _ingress.GetAsync("a.example.com", "/")).Echo?.Name);
        using JsonDocument status = await _ingress.StatusAsync();
        JsonElement source = status.RootElement.GetProperty("source");
        Assert.StartsWith(_ingress.ObjectsPath + ":", source.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Contains("not YAML or JSON", source.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, status.RootElement.GetProperty("generation").GetInt64());
    }

    private object[] Objects(string routeTo) =>
    [
        ServiceObject(Ns, "alpha", "10.96.0.31", ("http", 80, _alpha.Port)),
        Slice(Ns, "alpha", "alpha-1", [("http", _alpha.Port)], (_alpha.Ip, true)),
        ServiceObject(Ns, "beta", "10.96.0.32", ("http", 80, _beta.Port)),
        Slice(Ns, "beta", "beta-1", [("http", _beta.Port)], (_beta.Ip, true)),
        IngressObject(Ns, "web", [Rule("a.example.com", Path("/", "Prefix", routeTo, "http"))]),
    ];

    private static async Task PollAsync(Func<Task<bool>> condition, string what)
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
