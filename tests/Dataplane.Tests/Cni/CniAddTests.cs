using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.Tests.Cni;

/// <summary>ADD that works: what goes to IPAM and the daemon, and the result in each spec version.</summary>
[Trait("Category", "unit")]
public sealed class CniAddTests : IDisposable
{
    private readonly CniTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Theory]
    [InlineData("0.4.0")]
    [InlineData("1.0.0")]
    [InlineData("1.1.0")]
    public void Add_result_has_the_pod_interface_its_address_routes_and_dns(string version)
    {
        JsonElement result = _node.Add(_node.Config(version));

        Assert.Equal(version, result.GetProperty("cniVersion").GetString());
        JsonElement eth0 = Assert.Single(result.GetProperty("interfaces").EnumerateArray());
        Assert.Equal("eth0", eth0.GetProperty("name").GetString());
        Assert.Equal(FakeDaemon.Mac, eth0.GetProperty("mac").GetString());
        Assert.Equal(_node.Netns, eth0.GetProperty("sandbox").GetString());

        JsonElement ip = Assert.Single(result.GetProperty("ips").EnumerateArray());
        Assert.Equal("10.244.1.5/24", ip.GetProperty("address").GetString());
        Assert.Equal("10.244.1.1", ip.GetProperty("gateway").GetString());
        Assert.Equal(0, ip.GetProperty("interface").GetInt32());

        // IPAM gave no routes: the default route the daemon installs via the gateway is reported.
        JsonElement route = Assert.Single(result.GetProperty("routes").EnumerateArray());
        Assert.Equal("0.0.0.0/0", route.GetProperty("dst").GetString());
        Assert.Equal("10.244.1.1", route.GetProperty("gw").GetString());

        Assert.Equal(["10.96.0.10"], result.GetProperty("dns").GetProperty("nameservers").EnumerateArray().Select(static n => n.GetString()));
    }

    [Fact]
    public void A_0_4_0_result_marks_each_ip_with_its_version_and_1_x_results_do_not()
    {
        _node.Ipam.Answer("ADD", """
            {"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.244.1.5/24","gateway":"10.244.1.1"},
                                         {"version":"6","address":"fd00:10:244:1::5/64","gateway":"fd00:10:244:1::1"}]}
            """);
        JsonElement old = _node.Add(_node.Config("0.4.0"));
        JsonElement current = _node.Add(_node.Config("1.0.0"));

        Assert.Equal(["4", "6"], old.GetProperty("ips").EnumerateArray().Select(static ip => ip.GetProperty("version").GetString()));
        Assert.All(current.GetProperty("ips").EnumerateArray(), static ip => Assert.False(ip.TryGetProperty("version", out _)));
    }

    [Fact]
    public void Only_a_1_1_0_result_reports_the_interface_mtu()
    {
        Assert.Equal(1500, _node.Add(_node.Config("1.1.0")).GetProperty("interfaces")[0].GetProperty("mtu").GetInt32());
        Assert.False(_node.Add(_node.Config("1.0.0")).GetProperty("interfaces")[0].TryGetProperty("mtu", out _));
    }

    [Fact]
    public void Pod_add_carries_the_attachment_the_addresses_the_mtu_and_the_kubernetes_pod_name()
    {
        _node.Add(_node.Config(change: static c => c["mtu"] = 9000));

        JsonElement pod = _node.Daemon.Single("pod-add").GetProperty("pod");
        Assert.Equal(CniTestNode.ContainerId, pod.GetProperty("containerId").GetString());
        Assert.Equal("eth0", pod.GetProperty("ifName").GetString());
        Assert.Equal(_node.Netns, pod.GetProperty("netns").GetString());
        Assert.Equal("default/web-1", pod.GetProperty("name").GetString());
        Assert.Equal(9000, pod.GetProperty("mtu").GetInt32());
        JsonElement ip = Assert.Single(pod.GetProperty("ips").EnumerateArray());
        Assert.Equal("10.244.1.5/24", ip.GetProperty("address").GetString());
        Assert.Equal("10.244.1.1", ip.GetProperty("gateway").GetString());
        // Nothing beyond the default route (which the daemon installs itself), and nulls are left out.
        Assert.False(pod.TryGetProperty("routes", out _));
        Assert.False(pod.TryGetProperty("mac", out _));
    }

    [Fact]
    public void Ipam_gets_the_whole_config_and_the_same_environment_with_command_ADD()
    {
        JsonObject config = _node.Config();
        _node.Add(config);

        Assert.Equal(["ADD"], _node.Ipam.Calls);
        Assert.Equal(config.ToJsonString(), _node.Ipam.StdinOf("ADD"));
        IReadOnlyList<string> env = _node.Ipam.EnvironmentOf("ADD");
        Assert.Contains("CNI_COMMAND=ADD", env);
        Assert.Contains($"CNI_CONTAINERID={CniTestNode.ContainerId}", env);
        Assert.Contains($"CNI_NETNS={_node.Netns}", env);
        Assert.Contains("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1", env);
    }

    [Fact]
    public void Ipam_routes_are_reported_and_sent_except_a_default_via_the_gateway()
    {
        _node.Ipam.Answer("ADD", """
            {"cniVersion":"1.0.0","ips":[{"address":"10.244.1.5/24","gateway":"10.244.1.1"}],
             "routes":[{"dst":"0.0.0.0/0"},{"dst":"192.168.0.0/16","gw":"10.244.1.254","priority":5}]}
            """);

        JsonElement result = _node.Add(_node.Config());

        JsonElement[] routes = [.. result.GetProperty("routes").EnumerateArray()];
        Assert.Equal(["0.0.0.0/0", "192.168.0.0/16"], routes.Select(static r => r.GetProperty("dst").GetString()));
        Assert.Equal(5, routes[1].GetProperty("priority").GetInt32()); // a field we do not model survives
        JsonElement sent = Assert.Single(_node.Daemon.Single("pod-add").GetProperty("pod").GetProperty("routes").EnumerateArray());
        Assert.Equal("192.168.0.0/16", sent.GetProperty("dst").GetString());
        Assert.Equal("10.244.1.254", sent.GetProperty("gw").GetString());
    }

    [Fact]
    public void Dual_stack_reports_a_default_route_per_family()
    {
        _node.Ipam.Answer("ADD", """
            {"cniVersion":"1.0.0","ips":[{"address":"10.244.1.5/24","gateway":"10.244.1.1"},{"address":"fd00:10:244:1::5/64","gateway":"fd00:10:244:1::1"}]}
            """);

        JsonElement result = _node.Add(_node.Config());

        Assert.Equal(
            [("0.0.0.0/0", "10.244.1.1"), ("::/0", "fd00:10:244:1::1")],
            result.GetProperty("routes").EnumerateArray().Select(static r => (r.GetProperty("dst").GetString(), r.GetProperty("gw").GetString())));
        Assert.Equal([0, 0], result.GetProperty("ips").EnumerateArray().Select(static ip => ip.GetProperty("interface").GetInt32()));
    }

    [Fact]
    public void Dns_comes_from_ipam_when_the_config_has_none()
    {
        _node.Ipam.Answer("ADD", """{"cniVersion":"1.0.0","ips":[{"address":"10.244.1.5/24","gateway":"10.244.1.1"}],"dns":{"nameservers":["10.0.0.53"],"search":["svc.cluster.local"]}}""");

        JsonElement dns = _node.Add(_node.Config(change: static c => c.Remove("dns"))).GetProperty("dns");

        Assert.Equal("10.0.0.53", dns.GetProperty("nameservers")[0].GetString());
        Assert.Equal("svc.cluster.local", dns.GetProperty("search")[0].GetString());
    }

    [Fact]
    public void No_dns_anywhere_leaves_the_key_out()
    {
        JsonElement result = _node.Add(_node.Config(change: static c => c.Remove("dns")));

        Assert.False(result.TryGetProperty("dns", out _));
    }

    [Fact]
    public void The_runtimes_mac_capability_is_passed_to_the_daemon()
    {
        _node.Add(_node.Config(change: static c => c["runtimeConfig"] = new JsonObject { ["mac"] = "02:00:00:00:00:42" }));

        Assert.Equal("02:00:00:00:00:42", _node.Daemon.Single("pod-add").GetProperty("pod").GetProperty("mac").GetString());
    }

    [Fact]
    public void Chained_after_another_plugin_its_result_is_kept_and_ours_appended()
    {
        var previous = JsonNode.Parse("""
            {"cniVersion":"1.0.0",
             "interfaces":[{"name":"host-side","mac":"02:00:00:00:00:01"},{"name":"net1","sandbox":"/var/run/netns/x","socketPath":"/run/vhost.sock"}],
             "ips":[{"address":"192.168.5.7/24","interface":1}],
             "routes":[{"dst":"192.168.0.0/16","table":100}],
             "dns":{"nameservers":["192.168.5.1"]},
             "vendorKey":{"keep":true}}
            """)!;

        JsonElement result = _node.Add(_node.Config(change: c => c["prevResult"] = previous));

        JsonElement[] interfaces = [.. result.GetProperty("interfaces").EnumerateArray()];
        Assert.Equal(["host-side", "net1", "eth0"], interfaces.Select(static i => i.GetProperty("name").GetString()));
        Assert.Equal("/run/vhost.sock", interfaces[1].GetProperty("socketPath").GetString());
        Assert.Equal(_node.Netns, interfaces[2].GetProperty("sandbox").GetString());

        JsonElement[] ips = [.. result.GetProperty("ips").EnumerateArray()];
        Assert.Equal([("192.168.5.7/24", 1), ("10.244.1.5/24", 2)], ips.Select(static ip => (ip.GetProperty("address").GetString(), ip.GetProperty("interface").GetInt32())));

        JsonElement[] routes = [.. result.GetProperty("routes").EnumerateArray()];
        Assert.Equal(["192.168.0.0/16", "0.0.0.0/0"], routes.Select(static r => r.GetProperty("dst").GetString()));
        Assert.Equal(100, routes[0].GetProperty("table").GetInt32());

        Assert.True(result.GetProperty("vendorKey").GetProperty("keep").GetBoolean());
        Assert.Equal("10.96.0.10", result.GetProperty("dns").GetProperty("nameservers")[0].GetString()); // the config's dns wins
    }

    [Fact]
    public void A_1_1_0_config_reaches_an_ipam_that_stops_at_1_0_0_as_1_0_0()
    {
        _node.Ipam.Versions("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0");
        JsonObject config = _node.Config("1.1.0");

        CniOutcome add = _node.Run("ADD", config);

        Assert.True(add.ExitCode == 0, add.Stdout);
        Assert.Equal("1.1.0", add.Json.GetProperty("cniVersion").GetString());
        Assert.Equal(["VERSION", "ADD"], _node.Ipam.Calls);
        JsonNode handedOver = JsonNode.Parse(_node.Ipam.StdinOf("ADD"))!;
        Assert.Equal("1.0.0", (string?)handedOver["cniVersion"]);
        config["cniVersion"] = "1.0.0";
        Assert.True(JsonNode.DeepEquals(config, handedOver), "everything but cniVersion is handed over unchanged");
        Assert.Contains("calling it with cniVersion 1.0.0", add.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_1_1_0_config_goes_unchanged_to_an_ipam_that_speaks_1_1_0()
    {
        JsonObject config = _node.Config("1.1.0");

        _node.Add(config);

        Assert.Equal(["VERSION", "ADD"], _node.Ipam.Calls);
        Assert.Equal(config.ToJsonString(), _node.Ipam.StdinOf("ADD"));
    }

    [Fact]
    public void An_ipam_sharing_no_version_is_error_1_naming_it_and_its_versions()
    {
        _node.Ipam.Versions("0.1.0", "0.2.0");

        CniOutcome add = _node.Run("ADD", _node.Config("1.1.0"));

        Assert.Equal(1, add.ErrorCode);
        Assert.Contains(FakeIpam.Type, add.Message, StringComparison.Ordinal);
        Assert.Contains("0.1.0, 0.2.0", add.Message, StringComparison.Ordinal);
        Assert.Equal(["VERSION"], _node.Ipam.Calls);
        Assert.Empty(_node.Daemon.Requests);
    }

    [Fact]
    public void Older_configs_go_to_ipam_without_asking_its_version()
    {
        _node.Add(_node.Config("0.4.0"));

        Assert.Equal(["ADD"], _node.Ipam.Calls);
    }
}
