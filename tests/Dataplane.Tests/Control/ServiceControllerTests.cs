using Dataplane.Control;
using Dataplane.Conntrack;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;
using Dataplane.Tests.Pipeline;
using static Dataplane.Tests.Conntrack.Nat;
using Nat = Dataplane.Tests.Conntrack.Nat;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Control;

/// <summary>
/// The controller diffs a desired set against what it applied: the table sees only real changes, and flows of
/// backends (or services) that went away leave conntrack at once.
/// </summary>
[Trait("Category", "unit")]
public class ServiceControllerTests
{
    private const string ApiVip = "10.96.0.11";

    /// <summary>Two services: web (local web-1 and a remote pod) and api (web-2 only).</summary>
    private const string WebAndApi = TwoWeb + """

          - name: api
            clusterIP: 10.96.0.11
            ports:
              - { protocol: TCP, port: 80, targetPort: 9090 }
            endpoints:
              - { ip: 10.244.1.12 }
        """;

    [Fact]
    public void Unchanged_set_changes_nothing_in_the_table()
    {
        var harness = Harness(WebAndApi);
        ServiceController controller = harness.Dataplane.ServiceController;
        ServicePort[] before = Ports(harness);

        // Equal values in new objects (a re-read file): compared by value, not by reference.
        ServiceSync sync = controller.Replace(Desired(WebAndApi), "reload");

        Assert.True(sync.Succeeded);
        Assert.False(sync.Changed);
        Assert.Equal(2, sync.Unchanged);
        Assert.Empty(sync.Added);
        Assert.Empty(sync.Updated);
        Assert.Empty(sync.Removed);
        AssertSameObjects(before, Ports(harness));

        ServiceUpdate one = controller.Apply(Service(WebAndApi, "api"));
        Assert.True(one.Succeeded);
        Assert.False(one.Changed);
        AssertSameObjects(before, Ports(harness));
    }

    [Fact]
    public void Changed_endpoint_rebuilds_only_that_service_and_flushes_the_removed_backends_flows()
    {
        var harness = Harness(WebAndApi);
        ServicePort web = Port(harness, Vip, L4Protocol.Tcp, 80);
        ushort toWeb1 = SourcePortFor(web, Web1Ip, ClientIp, Vip, 80, IpProtocol.Tcp);
        ushort toRemote = SourcePortFor(web, RemotePodIp, ClientIp, Vip, 80, IpProtocol.Tcp);
        Assert.Equal("web-1", Assert.Single(harness.Send("client", Syn(Vip, toWeb1), T0)).Port);
        Assert.Equal("uplink", Assert.Single(harness.Send("client", Syn(Vip, toRemote), T0)).Port);
        Assert.Equal("web-2", Assert.Single(harness.Send("client", Syn(ApiVip, 41000), T0)).Port);
        Assert.Equal(3, Entries(harness, T0).Count);
        ServicePort api = Port(harness, ApiVip, L4Protocol.Tcp, 80);
        ServicePort webUdp = Port(harness, Vip, L4Protocol.Udp, 53);

        // web-1 leaves web; api is declared again, equal.
        string next = WebAndApi.Replace("      - { ip: 10.244.1.11 }\n", "", StringComparison.Ordinal);
        Assert.NotEqual(WebAndApi, next);
        ServiceSync sync = harness.Dataplane.ServiceController.Replace(Desired(next), "reload");

        Assert.True(sync.Succeeded);
        ServiceUpdate update = Assert.Single(sync.Updated);
        Assert.Equal("default/web", update.ServiceName);
        Assert.Equal(1, sync.Unchanged);
        Assert.Empty(sync.Added);
        Assert.Empty(sync.Removed);
        Assert.Equal(2, update.RemovedBackends.Count); // web-1 on the TCP and the UDP port
        Assert.Same(api, Port(harness, ApiVip, L4Protocol.Tcp, 80));
        Assert.NotSame(web, Port(harness, Vip, L4Protocol.Tcp, 80));
        Assert.NotSame(webUdp, Port(harness, Vip, L4Protocol.Udp, 53));

        // Only the flow to web-1 is gone.
        List<FlowEntry> left = Entries(harness, T0);
        Assert.Equal(2, left.Count);
        Assert.DoesNotContain(left, f => f.Original.SourcePort == toWeb1);
        Assert.Contains(left, f => f.Original.SourcePort == toRemote);
        Assert.Contains(left, f => f.Original.Destination == IpAddress.Parse(ApiVip));
        Assert.Equal(new[] { "default/web", "default/api" }, harness.Dataplane.ServiceController.Services.Select(static s => s.Name));
        Assert.Equal(Service(next), harness.Dataplane.ServiceController.Services[0]);
    }

    [Fact]
    public void Removed_service_is_unpublished_and_its_flows_flushed()
    {
        var harness = Harness(WebAndApi);
        for (ushort p = 1000; p < 1010; p++)
        {
            harness.Send("client", Syn(Vip, p), T0);
            harness.Send("client", Syn(ApiVip, p), T0);
        }

        Assert.Equal(20, Entries(harness, T0).Count);
        ServicePort web = Port(harness, Vip, L4Protocol.Tcp, 80);

        ServiceSync sync = harness.Dataplane.ServiceController.Replace([Service(WebAndApi, "web")], "reload");

        Assert.True(sync.Succeeded);
        Assert.Equal("default/api", Assert.Single(sync.Removed).ServiceName);
        Assert.Equal(1, sync.Unchanged);
        Assert.False(harness.Dataplane.Services.TryLookup(new ServiceKey(IpAddress.Parse(ApiVip), L4Protocol.Tcp, 80), out _));
        Assert.Same(web, Port(harness, Vip, L4Protocol.Tcp, 80));
        List<FlowEntry> left = Entries(harness, T0);
        Assert.Equal(10, left.Count);
        Assert.All(left, f => Assert.Equal(IpAddress.Parse(Vip), f.Original.Destination));
        Assert.Null(harness.Dataplane.ServiceController.Remove("default/api"));
    }

    [Fact]
    public void Added_service_is_published_and_a_refused_one_keeps_its_previous_state()
    {
        var harness = Harness(TwoWeb);
        ServiceController controller = harness.Dataplane.ServiceController;
        ServiceConfig web = Service(TwoWeb);
        ServiceConfig api = Service(WebAndApi, "api");

        ServiceSync added = controller.Replace([web, api], "ctl");
        Assert.Equal("default/api", Assert.Single(added.Added).ServiceName);
        Assert.Equal(1, added.Unchanged);

        // api moves onto web's frontend: the table refuses it and api stays as it was.
        ServiceSync refused = controller.Replace([web, api with { ClusterIp = Ip4Address.Parse(Vip) }], "ctl");
        Assert.False(refused.Succeeded);
        Assert.Equal("default/api", Assert.Single(refused.Failed).ServiceName);
        Assert.Equal(api, controller.Services.Single(s => s.Name == "default/api"));
        Assert.Equal("default/api", Port(harness, ApiVip, L4Protocol.Tcp, 80).ServiceName);
        Assert.Equal("default/web", Port(harness, Vip, L4Protocol.Tcp, 80).ServiceName);
    }

    [Fact]
    public void Services_compare_by_value_including_their_lists()
    {
        ServiceConfig a = Service(WebAndApi);
        ServiceConfig b = Service(WebAndApi);
        Assert.NotSame(a.Endpoints, b.Endpoints);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, a with { Endpoints = [.. a.Endpoints.Take(1)] });
        Assert.NotEqual(a, a with { Ports = [a.Ports[0] with { TargetPort = 1 }, a.Ports[1]] });

        NodeConfig x = Nat.Config(WebAndApi);
        NodeConfig y = Nat.Config(WebAndApi);
        Assert.Equal(x, y);
        Assert.Equal(x.GetHashCode(), y.GetHashCode());
        Assert.NotEqual(x, y with { Services = [.. y.Services.Take(1)] });
        Assert.NotEqual(x, y with { Pods = [.. y.Pods.Skip(1)] });
    }

    private static IReadOnlyList<ServiceConfig> Desired(string services) => Nat.Config(services).Services;

    private static byte[] Syn(string vip, ushort sourcePort) => Tcp4(ClientMac, GatewayMac, ClientIp, vip, sourcePort, 80, "S", 1, 0);

    private static ServicePort[] Ports(PipelineHarness harness)
        => [.. harness.Dataplane.Services.Ports.OrderBy(static p => p.ServiceName, StringComparer.Ordinal).ThenBy(static p => p.Port)];

    private static void AssertSameObjects(ServicePort[] expected, ServicePort[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Same(expected[i], actual[i]);
        }
    }
}
