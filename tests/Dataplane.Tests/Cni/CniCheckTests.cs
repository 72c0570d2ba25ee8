using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.Tests.Cni;

/// <summary>CHECK: needs prevResult, asks the daemon about the addresses ADD reported, and IPAM about its reservation.</summary>
[Trait("Category", "unit")]
public sealed class CniCheckTests : IDisposable
{
    private readonly CniTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public void Check_without_prevResult_is_7()
    {
        CniOutcome check = _node.Run("CHECK", _node.Config());

        Assert.Equal(7, check.ErrorCode);
        Assert.Contains("prevResult", check.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Daemon.Requests);
    }

    [Fact]
    public void Check_after_add_asks_the_daemon_about_our_addresses_and_ipam_about_its_reservation()
    {
        JsonObject config = ChainedConfig();

        _node.Run("CHECK", config).AssertQuietSuccess();

        JsonElement pod = _node.Daemon.Single("pod-check").GetProperty("pod");
        Assert.Equal(CniTestNode.ContainerId, pod.GetProperty("containerId").GetString());
        Assert.Equal(_node.Netns, pod.GetProperty("netns").GetString());
        // Only the addresses on our interface (index 1), not the earlier plugin's.
        JsonElement ip = Assert.Single(pod.GetProperty("ips").EnumerateArray());
        Assert.Equal("10.244.1.5/24", ip.GetProperty("address").GetString());
        Assert.Equal(["ADD", "CHECK"], _node.Ipam.Calls);
        Assert.Contains("\"prevResult\"", _node.Ipam.StdinOf("CHECK"), StringComparison.Ordinal);
    }

    [Fact]
    public void Daemon_problems_are_102_listing_them()
    {
        _node.Daemon.Answer("pod-check", """{"ok":true,"result":{"name":"default/web-1","problems":["eth0 has no address 10.244.1.5/24","eth0 is down"]}}""");

        CniOutcome check = _node.Run("CHECK", ChainedConfig());

        Assert.Equal(102, check.ErrorCode);
        Assert.Contains("eth0 has no address 10.244.1.5/24; eth0 is down", check.Message, StringComparison.Ordinal);
        Assert.Equal("eth0 has no address 10.244.1.5/24\neth0 is down", check.Json.GetProperty("details").GetString());
    }

    [Fact]
    public void A_pod_the_daemon_does_not_know_is_100()
    {
        _node.Daemon.Refuse("pod-check", "no pod for container c0ffee01 interface eth0");

        CniOutcome check = _node.Run("CHECK", ChainedConfig());

        Assert.Equal(100, check.ErrorCode);
        Assert.Contains("no pod for container", check.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_with_the_daemon_down_is_11()
    {
        JsonObject config = ChainedConfig();
        _node.Daemon.Dispose();

        Assert.Equal(11, _node.Run("CHECK", config).ErrorCode);
    }

    [Fact]
    public void A_prevResult_without_our_interface_is_102()
    {
        JsonObject config = _node.Config(change: static c => c["prevResult"] = JsonNode.Parse("""{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/var/run/netns/other"}]}"""));

        CniOutcome check = _node.Run("CHECK", config);

        Assert.Equal(102, check.ErrorCode);
        Assert.Contains("no interface eth0", check.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Daemon.Requests);
    }

    [Fact]
    public void Ipam_check_failure_is_101()
    {
        JsonObject config = ChainedConfig();
        _node.Ipam.Fail("CHECK", 999, "host-local: Failed to find address added by container c0ffee01");

        CniOutcome check = _node.Run("CHECK", config);

        Assert.Equal(101, check.ErrorCode);
        Assert.Contains("Failed to find address", check.Message, StringComparison.Ordinal);
    }

    /// <summary>A config whose prevResult is another plugin's interface followed by our ADD's result.</summary>
    private JsonObject ChainedConfig()
    {
        JsonNode first = JsonNode.Parse("""{"cniVersion":"1.0.0","interfaces":[{"name":"lo0"}],"ips":[{"address":"192.168.9.9/32","interface":0}]}""")!;
        JsonElement added = _node.Add(_node.Config(change: c => c["prevResult"] = first));
        return _node.Config(change: c => c["prevResult"] = JsonNode.Parse(added.GetRawText()));
    }
}
