namespace Dataplane.Tests.Cni;

/// <summary>DEL is idempotent and best effort: success in every "already gone" case, and the address is released.</summary>
[Trait("Category", "unit")]
public sealed class CniDelTests : IDisposable
{
    private readonly CniTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public void Del_removes_the_pod_then_releases_the_address()
    {
        _node.Run("DEL", _node.Config()).AssertQuietSuccess();

        System.Text.Json.JsonElement pod = _node.Daemon.Single("pod-del").GetProperty("pod");
        Assert.Equal(CniTestNode.ContainerId, pod.GetProperty("containerId").GetString());
        Assert.Equal("eth0", pod.GetProperty("ifName").GetString());
        Assert.Equal(["DEL"], _node.Ipam.Calls);
        Assert.Contains($"CNI_CONTAINERID={CniTestNode.ContainerId}", _node.Ipam.EnvironmentOf("DEL"));
    }

    [Fact]
    public void Del_of_an_unknown_container_succeeds_and_still_releases()
    {
        _node.Daemon.Answer("pod-del", """{"ok":true,"result":{"removed":false,"flowsFlushed":0}}""");

        CniOutcome del = _node.Run("DEL", _node.Config());

        del.AssertQuietSuccess();
        Assert.Equal(["DEL"], _node.Ipam.Calls);
        Assert.Contains("had no pod", del.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Del_with_the_daemon_not_running_succeeds_and_releases()
    {
        _node.Daemon.Dispose();

        CniOutcome del = _node.Run("DEL", _node.Config());

        del.AssertQuietSuccess();
        Assert.Equal(["DEL"], _node.Ipam.Calls);
        Assert.Contains("no dataplane is listening", del.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Del_without_netns_and_prevResult_succeeds()
    {
        _node.Run("DEL", _node.Config(), static env => env.Remove("CNI_NETNS")).AssertQuietSuccess();

        Assert.False(_node.Daemon.Single("pod-del").GetProperty("pod").TryGetProperty("netns", out _));
        Assert.Equal(["DEL"], _node.Ipam.Calls);
    }

    [Fact]
    public void Del_with_a_netns_that_no_longer_exists_succeeds()
    {
        _node.Run("DEL", _node.Config(), static env => env["CNI_NETNS"] = "/var/run/netns/dpt-cni-gone").AssertQuietSuccess();

        Assert.Equal(["DEL"], _node.Ipam.Calls);
    }

    [Fact]
    public void Del_twice_succeeds_twice()
    {
        _node.Run("DEL", _node.Config()).AssertQuietSuccess();
        _node.Daemon.Answer("pod-del", """{"ok":true,"result":{"removed":false,"flowsFlushed":0}}""");
        _node.Run("DEL", _node.Config()).AssertQuietSuccess();

        Assert.Equal(["DEL", "DEL"], _node.Ipam.Calls);
    }

    [Fact]
    public void Daemon_failing_pod_del_is_100_and_keeps_the_address()
    {
        _node.Daemon.Refuse("pod-del", "netlink: device busy");

        CniOutcome del = _node.Run("DEL", _node.Config());

        Assert.Equal(100, del.ErrorCode);
        Assert.Contains("netlink: device busy", del.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Ipam.Calls); // releasing it while the TAP may still carry it would hand it to another pod
    }

    [Fact]
    public void Ipam_del_failure_is_101()
    {
        _node.Ipam.Fail("DEL", 5, "failed to open lock file");

        CniOutcome del = _node.Run("DEL", _node.Config());

        Assert.Equal(101, del.ErrorCode);
        Assert.Contains("failed to open lock file", del.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Del_with_the_ipam_plugin_missing_still_removes_the_pod_then_is_101()
    {
        CniOutcome del = _node.Run("DEL", _node.Config(change: static c => c["ipam"]!["type"] = "no-such-ipam"));

        Assert.Equal(101, del.ErrorCode);
        Assert.Contains("no-such-ipam not found", del.Message, StringComparison.Ordinal);
        Assert.Equal(["pod-del"], _node.Daemon.Commands);
    }

    [Fact]
    public void A_1_1_0_del_reaches_a_1_0_0_ipam_as_1_0_0()
    {
        _node.Ipam.Versions("0.4.0", "1.0.0");

        _node.Run("DEL", _node.Config("1.1.0")).AssertQuietSuccess();

        Assert.Equal(["VERSION", "DEL"], _node.Ipam.Calls);
        Assert.Contains("\"cniVersion\":\"1.0.0\"", _node.Ipam.StdinOf("DEL"), StringComparison.Ordinal);
    }
}
