using System.Net;
using System.Runtime.Versioning;
using Dataplane.Tests.EndToEnd;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Metrics;

/// <summary>/readyz says why the node is not ready, while /healthz stays green.</summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class ReadinessTests
{
    [RootFact]
    public async Task Readyz_is_503_naming_the_unresolved_next_hop_until_it_answers_while_healthz_is_200()
    {
        const string silentNextHop = "192.168.77.99";
        int port = FreePort();
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions
        {
            Pods = ["a"],
            Uplink = true,
            ExtraRoutes = [$"{{ cidr: 10.244.3.0/24, via: {silentNextHop} }}"],
            RunArguments = ["--metrics-address", $"127.0.0.1:{port}"],
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        // node-b (192.168.77.11) answers ARP within a second or two; the silent next hop never does.
        string body = "";
        Poll.Until(() =>
        {
            using HttpResponseMessage response = http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz")).GetAwaiter().GetResult();
            body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            return !body.Contains(NodeUnderTest.RemoteUplinkIp, StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(30), "node-b's next hop to resolve");
        Assert.Equal($"next hop {silentNextHop}: not resolved yet (ARP/NDP on the uplink)", body.Trim());

        using HttpResponseMessage health = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        // The silent next hop appears (an address on node-b's end): the node becomes ready.
        ProcessRunner.Run(TimeSpan.FromSeconds(10), "ip", "-n", node.RemoteNamespace!, "addr", "add", $"{silentNextHop}/24", "dev", "eth0").EnsureSuccess();
        Poll.Until(() =>
        {
            using HttpResponseMessage response = http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz")).GetAwaiter().GetResult();
            return response.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30), "/readyz to turn 200 once the next hop answers ARP");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
