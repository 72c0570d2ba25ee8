using Dataplane.Conntrack;
using Dataplane.Control;
using Dataplane.Kubernetes;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;
using Dataplane.Tests.Pipeline;
using k8s.Models;
using Microsoft.Extensions.Logging;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Kubernetes;

/// <summary>
/// <see cref="ClusterSync"/> driven through its informer handlers over a real node (<see cref="TestNode"/> without
/// services): nothing until every kind is listed, an event reprograms only what it touches and traffic follows, a
/// relist reconciles without disturbing what did not change, bad objects and refused services are warned about once,
/// and Nodes become routes.
/// </summary>
[Trait("Category", "unit")]
public sealed class ClusterSyncTests
{
    private const string Ns = "shop";
    private const string ApiVip = "10.96.0.11";
    private const string NodeDIp = "192.168.77.13";
    private const string NodeDCidr = "10.244.4.0/24";
    private const string Refused = "refused by the node, which keeps what it served before (if anything): ";

    // A new flow per call (its own source port), whichever test runs.
    private static int s_sourcePort = 40000;

    private static V1Service Web() => ApiModels.Service(Ns, "web", Vip);

    private static V1Service Api() => ApiModels.Service(Ns, "api", ApiVip);

    private static V1EndpointSlice WebSlice(params string[] ips) => Slice("web", "web-4xk9p", 8080, ips);

    private static V1EndpointSlice ApiSlice(params string[] ips) => Slice("api", "api-5kq2w", 9090, ips);

    private static V1EndpointSlice Slice(string service, string name, int port, params string[] ips)
        => ApiModels.Slice(Ns, service, name, port, [.. ips.Select(static ip => (ip, new V1EndpointConditions { Ready = true }))]);

    private static V1Node Self() => ApiModels.Node("node-a", "10.244.1.0/24", UplinkIp);

    private static V1Node NodeD() => ApiModels.Node("node-d", NodeDCidr, NodeDIp);

    /// <summary>A node with pods and an uplink but no services, and a sync programming it as node-a.</summary>
    private sealed class Rig
    {
        public Rig()
        {
            Harness = new PipelineHarness(TestNode.Config(services: ""));
            Assert.Empty(Harness.Dataplane.ServiceController.Services);
            Sync = new ClusterSync("node-a", Harness.Dataplane.Config.Node, Harness.Dataplane.ServiceController, Harness.Dataplane.Routes.Replace, Log, "test-cluster");
        }

        public PipelineHarness Harness { get; }

        public RecordingLogger Log { get; } = new();

        public ClusterSync Sync { get; }

        public ServiceController Services => Harness.Dataplane.ServiceController;

        /// <summary>The warnings logged so far, without the source's prefix.</summary>
        public string[] Warnings => [.. Log.Records.Where(static r => r.Level == LogLevel.Warning).Select(static r => r.Message.Replace("test-cluster: ", "", StringComparison.Ordinal))];

        public void ListAll(V1Service[] services, V1EndpointSlice[] slices, V1Node[] nodes)
        {
            Sync.Services.Synced(services);
            Sync.EndpointSlices.Synced(slices);
            Sync.Nodes.Synced(nodes);
        }

        /// <summary>web (web-1) and api (web-2), ready.</summary>
        public void ListWebAndApi() => ListAll([Web(), Api()], [WebSlice(Web1Ip), ApiSlice(Web2Ip)], [Self()]);

        public ServiceConfig Config(string name) => Assert.Single(Services.Services, s => s.Name == $"{Ns}/{name}");

        public bool TryPort(string vip, L4Protocol protocol, ushort port, out ServicePort? found)
            => Harness.Dataplane.Services.TryLookup(new ServiceKey(IpAddress.Parse(vip), protocol, port), out found);

        public ServicePort Port(string vip, L4Protocol protocol = L4Protocol.Tcp, ushort port = 80)
        {
            Assert.True(TryPort(vip, protocol, port, out ServicePort? found), $"no service port {vip}:{port}/{protocol}");
            return found!;
        }

        /// <summary>A SYN from the client pod to <paramref name="destination"/>:80; returns its source port and what left.</summary>
        public (ushort SourcePort, List<Sent> Sent) Syn(string destination)
        {
            ushort sourcePort = (ushort)Interlocked.Increment(ref s_sourcePort);
            return (sourcePort, Harness.Send("client", Frames.Tcp4(ClientMac, GatewayMac, ClientIp, destination, sourcePort, 80, syn: true)));
        }

        public List<FlowEntry> Flows() => [.. Harness.Dataplane.Conntrack.Snapshot(PipelineHarness.T0).Select(static e => e.Entry)];
    }

    /// <summary>The SYN left on <paramref name="port"/>, DNATed to <paramref name="backend"/>:<paramref name="backendPort"/> and routed.</summary>
    private static void AssertDnated((ushort SourcePort, List<Sent> Sent) syn, string port, string backendMac, string backend, ushort backendPort)
    {
        Sent sent = Assert.Single(syn.Sent);
        Assert.Equal(port, sent.Port);
        FrameAssert.SameBytes(Frames.Tcp4(GatewayMac, backendMac, ClientIp, backend, syn.SourcePort, backendPort, syn: true, ttl: 63), sent.Frame, $"SYN DNATed to {backend}");
    }

    private static string[] Endpoints(ServiceConfig service) => [.. service.Endpoints.Select(static e => e.Ip.ToString())];

    [Fact]
    public void Nothing_is_programmed_until_services_slices_and_nodes_have_all_been_listed()
    {
        var rig = new Rig();

        rig.Sync.Services.Synced([Web()]);
        rig.Sync.Nodes.Synced([Self(), NodeD()]);
        // An event before the last list is held, not programmed.
        rig.Sync.Services.Upserted(Api());

        Assert.Empty(rig.Services.Services);
        Assert.Empty(rig.Harness.Dataplane.Services.Ports);
        Assert.Empty(rig.Harness.Dataplane.Routes.Routes);
        Assert.False(rig.Sync.Status().Ready);
        Assert.DoesNotContain(rig.Syn(Vip).Sent, static s => s.Port != "client");

        rig.Sync.EndpointSlices.Synced([WebSlice(Web1Ip), ApiSlice(Web2Ip)]);

        Assert.True(rig.Sync.Status().Ready);
        Assert.Equal(["shop/web", "shop/api"], rig.Services.Services.Select(static s => s.Name));
        Assert.Equal([Web1Ip], Endpoints(rig.Config("web")));
        Assert.Equal([Web2Ip], Endpoints(rig.Config("api")));
        Assert.Equal(NodeDCidr, Assert.Single(rig.Harness.Dataplane.Routes.Routes).Cidr.ToString());
        AssertDnated(rig.Syn(Vip), "web-1", Web1Mac, Web1Ip, 8080);
        AssertDnated(rig.Syn(ApiVip), "web-2", Web2Mac, Web2Ip, 9090);
        Assert.Empty(rig.Warnings);
    }

    [Fact]
    public void Slice_upsert_reprograms_only_its_service_and_new_flows_follow_it()
    {
        var rig = new Rig();
        rig.ListWebAndApi();
        ServicePort apiTcp = rig.Port(ApiVip);
        ServicePort apiUdp = rig.Port(ApiVip, L4Protocol.Udp);
        ServicePort webTcp = rig.Port(Vip);
        AssertDnated(rig.Syn(Vip), "web-1", Web1Mac, Web1Ip, 8080);

        rig.Sync.EndpointSlices.Upserted(WebSlice(Web2Ip));

        Assert.Same(apiTcp, rig.Port(ApiVip));
        Assert.Same(apiUdp, rig.Port(ApiVip, L4Protocol.Udp));
        Assert.NotSame(webTcp, rig.Port(Vip));
        Assert.Equal([Web2Ip], Endpoints(rig.Config("web")));
        AssertDnated(rig.Syn(Vip), "web-2", Web2Mac, Web2Ip, 8080);

        // The same slice again (a resync): nothing is rebuilt.
        ServicePort webNow = rig.Port(Vip);
        rig.Sync.EndpointSlices.Upserted(WebSlice(Web2Ip));
        Assert.Same(webNow, rig.Port(Vip));
        Assert.Same(apiTcp, rig.Port(ApiVip));

        // The slice deleted: web has no endpoints left, api still untouched.
        rig.Sync.EndpointSlices.Deleted(WebSlice(Web2Ip));
        Assert.Empty(rig.Config("web").Endpoints);
        Assert.Same(apiTcp, rig.Port(ApiVip));
        Assert.Empty(rig.Warnings);
    }

    [Fact]
    public void Slice_relabelled_to_another_service_reprograms_both()
    {
        var rig = new Rig();
        rig.ListAll([Web(), Api()], [WebSlice(Web1Ip)], [Self()]);
        Assert.Equal([Web1Ip], Endpoints(rig.Config("web")));
        Assert.Empty(rig.Config("api").Endpoints);

        // The same slice (namespace and name), now labelled for api.
        V1EndpointSlice moved = WebSlice(Web1Ip);
        moved.Metadata.Labels[ServiceTranslator.ServiceNameLabel] = "api";
        moved.Ports[0].Port = 9090;
        rig.Sync.EndpointSlices.Upserted(moved);

        Assert.Empty(rig.Config("web").Endpoints);
        Assert.Equal([Web1Ip], Endpoints(rig.Config("api")));
        Assert.Equal(0, rig.Port(Vip).EligibleCount);
        AssertDnated(rig.Syn(ApiVip), "web-1", Web1Mac, Web1Ip, 9090);

        // Deleted under its new label: api loses it, and web is not given it back.
        rig.Sync.EndpointSlices.Deleted(moved);
        Assert.Empty(rig.Config("api").Endpoints);
        Assert.Empty(rig.Config("web").Endpoints);
    }

    [Fact]
    public void Relist_removes_vanished_services_and_leaves_unchanged_ones_and_their_flows()
    {
        var rig = new Rig();
        rig.ListWebAndApi();
        (ushort webFlow, List<Sent> toWeb) = rig.Syn(Vip);
        (ushort apiFlow, List<Sent> toApi) = rig.Syn(ApiVip);
        Assert.Equal("web-1", Assert.Single(toWeb).Port);
        Assert.Equal("web-2", Assert.Single(toApi).Port);
        Assert.Equal(2, rig.Flows().Count);
        ServicePort webTcp = rig.Port(Vip);
        ServicePort webUdp = rig.Port(Vip, L4Protocol.Udp);

        // A relist after 410 Gone: api was deleted while the watch was down; web comes back as new, equal objects.
        rig.Sync.Services.Synced([Web()]);
        rig.Sync.EndpointSlices.Synced([WebSlice(Web1Ip)]);

        Assert.Equal(["shop/web"], rig.Services.Services.Select(static s => s.Name));
        Assert.False(rig.TryPort(ApiVip, L4Protocol.Tcp, 80, out _));
        Assert.False(rig.TryPort(ApiVip, L4Protocol.Udp, 80, out _));
        Assert.Same(webTcp, rig.Port(Vip));
        Assert.Same(webUdp, rig.Port(Vip, L4Protocol.Udp));
        FlowEntry kept = Assert.Single(rig.Flows());
        Assert.Equal(webFlow, kept.Original.SourcePort);
        Assert.Equal(IpAddress.Parse(Vip), kept.Original.Destination);
        Assert.DoesNotContain(rig.Flows(), f => f.Original.SourcePort == apiFlow);
        Assert.Equal(1, rig.Sync.Status().ServedServices);
    }

    [Fact]
    public void Bad_objects_are_skipped_with_a_warning_naming_them_and_the_rest_is_programmed()
    {
        var rig = new Rig();
        V1Service noPorts = ApiModels.Service(Ns, "broken", "10.96.0.12");
        noPorts.Spec.Ports = [];
        V1EndpointSlice v6 = Slice("web", "web-v6", 8080, Web1Ip6);
        v6.AddressType = "IPv6";

        rig.ListAll([Web(), noPorts, Api()], [WebSlice(Web1Ip), v6, ApiSlice(Web2Ip)], [Self()]);

        Assert.Equal(
            [
                "Service shop/web: EndpointSlice web-v6 holds IPv6 addresses but the service has no IPv6 cluster IP: its endpoint is left out",
                "Service shop/broken: has no ports: not served (a Service needs at least one)",
            ],
            rig.Warnings);
        Assert.Equal(["shop/web", "shop/api"], rig.Services.Services.Select(static s => s.Name));
        Assert.Equal([Web1Ip], Endpoints(rig.Config("web")));
        AssertDnated(rig.Syn(Vip), "web-1", Web1Mac, Web1Ip, 8080);
        AssertDnated(rig.Syn(ApiVip), "web-2", Web2Mac, Web2Ip, 9090);
        Assert.False(rig.TryPort("10.96.0.12", L4Protocol.Tcp, 80, out _));
        Assert.Equal(rig.Warnings, rig.Sync.Status().RecentWarnings);

        // The same objects again, as a watch resends them: nothing more is said.
        rig.Sync.Services.Upserted(noPorts);
        rig.Sync.EndpointSlices.Upserted(v6);
        rig.Sync.Services.Synced([Web(), noPorts, Api()]);
        Assert.Equal(2, rig.Warnings.Length);

        // A different problem is a new warning.
        V1EndpointSlice twoV6 = Slice("web", "web-v6", 8080, Web1Ip6, "fd00:10:244:1::12");
        twoV6.AddressType = "IPv6";
        rig.Sync.EndpointSlices.Upserted(twoV6);
        V1Service badProtocol = ApiModels.Service(Ns, "broken", "10.96.0.12");
        badProtocol.Spec.Ports = [new V1ServicePort { Name = "ping", Protocol = "ICMP", Port = 1 }];
        rig.Sync.Services.Upserted(badProtocol);

        Assert.Equal(
            [
                "Service shop/web: EndpointSlice web-v6 holds IPv6 addresses but the service has no IPv6 cluster IP: its 2 endpoints are left out",
                "Service shop/broken: port 'ping': protocol 'ICMP' is not TCP, UDP or SCTP; the port is left out",
                "Service shop/broken: has no port left to serve: not served",
            ],
            rig.Warnings[2..]);
        Assert.Equal([Web1Ip], Endpoints(rig.Config("web")));
    }

    [Fact]
    public void Service_that_turns_bad_is_withdrawn_and_warned_about_once()
    {
        var rig = new Rig();
        rig.ListWebAndApi();
        ServicePort apiTcp = rig.Port(ApiVip);
        V1Service noPorts = Web();
        noPorts.Spec.Ports = null;

        rig.Sync.Services.Upserted(noPorts);
        rig.Sync.Services.Upserted(noPorts);
        rig.Sync.EndpointSlices.Upserted(WebSlice(Web1Ip, Web2Ip));

        Assert.Equal(["Service shop/web: has no ports: not served (a Service needs at least one)"], rig.Warnings);
        Assert.False(rig.TryPort(Vip, L4Protocol.Tcp, 80, out _));
        Assert.Same(apiTcp, rig.Port(ApiVip));

        // Fixed: served again, and the next time it breaks is worth a word again.
        rig.Sync.Services.Upserted(Web());
        Assert.Equal([Web1Ip, Web2Ip], Endpoints(rig.Config("web")));
        rig.Sync.Services.Upserted(noPorts);
        Assert.Equal(2, rig.Warnings.Length);

        // Deleted, then created again with the same problem: a new object, a new warning.
        rig.Sync.Services.Deleted(noPorts);
        rig.Sync.Services.Upserted(noPorts);
        Assert.Equal(3, rig.Warnings.Length);

        // The same through a relist that lost it and one that has it again.
        rig.Sync.Services.Synced([Api()]);
        rig.Sync.Services.Synced([Api(), noPorts]);
        Assert.Equal(4, rig.Warnings.Length);
        Assert.All(rig.Warnings, static w => Assert.Equal("Service shop/web: has no ports: not served (a Service needs at least one)", w));
    }

    [Fact]
    public void Service_clashing_with_another_ones_frontend_keeps_its_previous_state_and_is_warned_about_once()
    {
        var rig = new Rig();
        rig.ListWebAndApi();
        ServicePort apiTcp = rig.Port(ApiVip);
        ServicePort webTcp = rig.Port(Vip);

        // api moves onto web's cluster IP: the table refuses it, and api keeps serving where it was.
        V1Service clash = ApiModels.Service(Ns, "api", Vip);
        rig.Sync.Services.Upserted(clash);

        string warning = Assert.Single(rig.Warnings);
        Assert.StartsWith($"Service shop/api: {Refused}", warning, StringComparison.Ordinal);
        Assert.Contains("already belongs to service shop/web", warning, StringComparison.Ordinal);
        Assert.Same(apiTcp, rig.Port(ApiVip));
        Assert.Same(webTcp, rig.Port(Vip));
        Assert.Equal(IpAddress.Parse(ApiVip).V4, rig.Config("api").ClusterIp);
        AssertDnated(rig.Syn(ApiVip), "web-2", Web2Mac, Web2Ip, 9090);
        AssertDnated(rig.Syn(Vip), "web-1", Web1Mac, Web1Ip, 8080);
        Assert.Equal(2, rig.Sync.Status().ServedServices);

        // The same refusal, on a repeated event, one of its slices, or a relist: said once.
        rig.Sync.Services.Upserted(clash);
        rig.Sync.EndpointSlices.Upserted(ApiSlice(Web2Ip));
        rig.Sync.Services.Synced([Web(), clash]);
        Assert.Single(rig.Warnings);
        Assert.Same(apiTcp, rig.Port(ApiVip));
    }

    [Fact]
    public void Services_clashing_in_one_list_serve_the_first_and_warn_about_the_other_once()
    {
        var rig = new Rig();
        V1Service clash = ApiModels.Service(Ns, "clash", Vip);

        rig.ListAll([Web(), clash], [WebSlice(Web1Ip), Slice("clash", "clash-1", 8080, Web2Ip)], [Self()]);

        string warning = Assert.Single(rig.Warnings);
        Assert.StartsWith($"Service shop/clash: {Refused}", warning, StringComparison.Ordinal);
        Assert.Contains("already belongs to service shop/web", warning, StringComparison.Ordinal);
        Assert.Equal(["shop/web"], rig.Services.Services.Select(static s => s.Name));
        AssertDnated(rig.Syn(Vip), "web-1", Web1Mac, Web1Ip, 8080);

        rig.Sync.Services.Synced([Web(), clash]);
        rig.Sync.Nodes.Synced([Self()]);
        Assert.Single(rig.Warnings);
    }

    [Fact]
    public void Service_whose_cluster_ip_is_in_the_pod_cidr_is_refused_and_pod_traffic_is_left_alone()
    {
        var rig = new Rig();
        // A cluster IP that is web-1's own address: served, it would take every connection to web-1 port 80.
        V1Service hijack = ApiModels.Service(Ns, "hijack", Web1Ip);

        rig.ListAll([Web(), hijack], [WebSlice(Web1Ip), Slice("hijack", "hijack-1", 8080, Web2Ip)], [Self()]);

        Assert.Equal([$"Service shop/hijack: {Refused}cluster IP {Web1Ip} is inside this node's pod CIDR 10.244.1.0/24: it would take the traffic of the pod with that address"], rig.Warnings);
        Assert.False(rig.TryPort(Web1Ip, L4Protocol.Tcp, 80, out _));
        Assert.Equal(["shop/web"], rig.Services.Services.Select(static s => s.Name));
        (ushort sourcePort, List<Sent> sent) = rig.Syn(Web1Ip);
        Sent toWeb1 = Assert.Single(sent);
        Assert.Equal("web-1", toWeb1.Port);
        FrameAssert.SameBytes(Frames.Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, sourcePort, 80, syn: true, ttl: 63), toWeb1.Frame, "SYN to web-1 itself");

        // An event for it says nothing new; web is served throughout.
        rig.Sync.Services.Upserted(hijack);
        rig.Sync.EndpointSlices.Upserted(Slice("hijack", "hijack-1", 8080, Web2Ip));
        Assert.Single(rig.Warnings);
        AssertDnated(rig.Syn(Vip), "web-1", Web1Mac, Web1Ip, 8080);

        // web moved into the pod CIDR (an objects file edited by hand): refused, it keeps serving where it was, by
        // event and by relist alike.
        ServicePort webTcp = rig.Port(Vip);
        V1Service movedWeb = ApiModels.Service(Ns, "web", "10.244.1.99");
        rig.Sync.Services.Upserted(movedWeb);
        Assert.Equal($"Service shop/web: {Refused}cluster IP 10.244.1.99 is inside this node's pod CIDR 10.244.1.0/24: it would take the traffic of the pod with that address", rig.Warnings[^1]);
        Assert.Same(webTcp, rig.Port(Vip));
        rig.Sync.Services.Synced([movedWeb, hijack]);
        Assert.Same(webTcp, rig.Port(Vip));
        Assert.False(rig.TryPort("10.244.1.99", L4Protocol.Tcp, 80, out _));
        Assert.Equal(2, rig.Warnings.Length);
        AssertDnated(rig.Syn(Vip), "web-1", Web1Mac, Web1Ip, 8080);
    }

    [Fact]
    public void Objects_without_a_namespace_are_in_the_default_one_with_their_slices()
    {
        var rig = new Rig();
        V1Service web = ApiModels.Service("", "web", Vip);
        web.Metadata.NamespaceProperty = null;
        V1EndpointSlice slice = ApiModels.Slice("", "web", "web-1", 8080, (Web1Ip, ApiModels.Ready));
        slice.Metadata.NamespaceProperty = null;

        rig.Sync.Load(new ClusterObjects([web], [slice], [Self()]));

        Assert.Equal([Web1Ip], Endpoints(Assert.Single(rig.Services.Services, static s => s.Name == "default/web")));
        rig.Sync.Services.Deleted(web);
        Assert.Empty(rig.Services.Services);
    }

    [Fact]
    public void Nodes_become_routes_and_this_nodes_own_node_gives_none()
    {
        var rig = new Rig();
        rig.ListAll([], [], [Self()]);
        Assert.Empty(rig.Harness.Dataplane.Routes.Routes);

        rig.Sync.Nodes.Upserted(NodeD());

        RouteConfig route = Assert.Single(rig.Harness.Dataplane.Routes.Routes);
        Assert.Equal(NodeDCidr, route.Cidr.ToString());
        Assert.Equal(IpAddress.Parse(NodeDIp), route.Via);
        Assert.Equal(1, rig.Sync.Status().Routes);

        // Its own Node changing (a label, say) changes no route.
        V1Node relabelled = Self();
        relabelled.Metadata.Labels = new Dictionary<string, string> { ["topology.kubernetes.io/zone"] = "b" };
        rig.Sync.Nodes.Upserted(relabelled);
        Assert.Equal(NodeDCidr, Assert.Single(rig.Harness.Dataplane.Routes.Routes).Cidr.ToString());

        // The node moves to another address: the route follows.
        rig.Sync.Nodes.Upserted(ApiModels.Node("node-d", NodeDCidr, "192.168.77.14"));
        Assert.Equal(IpAddress.Parse("192.168.77.14"), Assert.Single(rig.Harness.Dataplane.Routes.Routes).Via);

        rig.Sync.Nodes.Deleted(NodeD());
        Assert.Empty(rig.Harness.Dataplane.Routes.Routes);
        Assert.Equal(0, rig.Sync.Status().Routes);
        Assert.Empty(rig.Warnings);
    }

    [Fact]
    public void Node_relist_drops_the_routes_of_nodes_that_vanished()
    {
        var rig = new Rig();
        V1Node nodeE = ApiModels.Node("node-e", "10.244.5.0/24", "192.168.77.15");
        rig.ListAll([], [], [Self(), NodeD(), nodeE]);
        Assert.Equal([NodeDCidr, "10.244.5.0/24"], rig.Harness.Dataplane.Routes.Routes.Select(static r => r.Cidr.ToString()));

        rig.Sync.Nodes.Synced([Self(), nodeE]);

        Assert.Equal("10.244.5.0/24", Assert.Single(rig.Harness.Dataplane.Routes.Routes).Cidr.ToString());
    }

    [Fact]
    public void Status_counts_what_is_held_and_served_and_programmed_fires_once_per_event()
    {
        var rig = new Rig();
        var took = new List<TimeSpan>();
        rig.Sync.Programmed += took.Add;
        V1Service noPorts = ApiModels.Service(Ns, "broken", "10.96.0.12");
        noPorts.Spec.Ports = [];

        ClusterSyncStatus empty = rig.Sync.Status();
        Assert.Equal(("test-cluster", false, 0, 0, 0, 0, 0, 0L), (empty.Source, empty.Ready, empty.Services, empty.EndpointSlices, empty.Nodes, empty.ServedServices, empty.Routes, empty.Changes));
        Assert.Equal(TimeSpan.Zero, empty.ProgramP99);

        rig.ListAll([Web(), Api(), noPorts], [WebSlice(Web1Ip), ApiSlice(Web2Ip), Slice("gone", "gone-1", 80, Web1Ip)], [Self(), NodeD()]);

        ClusterSyncStatus status = rig.Sync.Status();
        Assert.Equal(3, took.Count);
        Assert.Equal(("test-cluster", true, 3, 3, 2, 2, 1, 3L), (status.Source, status.Ready, status.Services, status.EndpointSlices, status.Nodes, status.ServedServices, status.Routes, status.Changes));
        Assert.Equal(took.Order().ElementAt(1), status.ProgramP50);
        Assert.Equal(took.Max(), status.ProgramP99);
        Assert.Equal(["Service shop/broken: has no ports: not served (a Service needs at least one)"], status.RecentWarnings);

        rig.Sync.Services.Deleted(Api());
        rig.Sync.EndpointSlices.Deleted(ApiSlice(Web2Ip));

        status = rig.Sync.Status();
        Assert.Equal(5, took.Count);
        Assert.Equal((2, 2, 1, 5L), (status.Services, status.EndpointSlices, status.ServedServices, status.Changes));

        rig.Sync.Load(new ClusterObjects([Web()], [WebSlice(Web1Ip)], [Self()]));

        status = rig.Sync.Status();
        Assert.Equal(6, took.Count);
        Assert.Equal((1, 1, 1, 1, 0, 6L), (status.Services, status.EndpointSlices, status.Nodes, status.ServedServices, status.Routes, status.Changes));
    }

    [Fact]
    public void Load_of_a_kubectl_dump_programs_every_servable_service_and_a_reload_changes_nothing()
    {
        var rig = new Rig();
        // Objects/cluster.yaml is a cluster whose worker-1 serves 10.244.1.0/24, as the test node does.
        var sync = new ClusterSync("worker-1", rig.Harness.Dataplane.Config.Node, rig.Services, rig.Harness.Dataplane.Routes.Replace, rig.Log, "cluster.yaml");

        sync.Load(ApiObjects.Cluster());

        Assert.Equal(
            ["default/kubernetes", "kube-system/kube-dns", "shop/api", "shop/checkout", "shop/storefront", "shop/web"],
            rig.Services.Services.Select(static s => s.Name).Order(StringComparer.Ordinal));
        Assert.True(sync.Status().Ready);
        ServicePort[] ports = [.. rig.Harness.Dataplane.Services.Ports];
        int warnings = rig.Warnings.Length;

        sync.Load(ApiObjects.Cluster());

        Assert.Equal<ServicePort>(ports, rig.Harness.Dataplane.Services.Ports, ReferenceEqualityComparer.Instance);
        Assert.Equal(warnings, rig.Warnings.Length);
    }
}
