using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.Tests.Cni;

/// <summary>STATUS (is the daemon there) and GC (which attachments are still valid), both 1.1.0.</summary>
[Trait("Category", "unit")]
public sealed class CniStatusAndGcTests : IDisposable
{
    private readonly CniTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public void Status_with_the_daemon_up_succeeds()
    {
        _node.Run("STATUS", _node.Config("1.1.0")).AssertQuietSuccess();

        Assert.Equal(["status"], _node.Daemon.Commands);
    }

    [Fact]
    public void Status_with_the_daemon_down_is_50()
    {
        _node.Daemon.Dispose();

        CniOutcome status = _node.Run("STATUS", _node.Config("1.1.0"));

        Assert.Equal(50, status.ErrorCode);
        Assert.Contains(_node.Daemon.SocketPath, status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_with_the_daemon_not_ready_is_50_with_its_reason()
    {
        _node.Daemon.Refuse("status", "uplink up0 is down");

        CniOutcome status = _node.Run("STATUS", _node.Config("1.1.0"));

        Assert.Equal(50, status.ErrorCode);
        Assert.Contains("uplink up0 is down", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_asks_an_ipam_that_speaks_1_1_0_and_passes_on_its_failure()
    {
        _node.Ipam.Fail("STATUS", 51, "range exhausted");

        CniOutcome status = _node.Run("STATUS", _node.Config("1.1.0"));

        Assert.Equal(51, status.ErrorCode);
        Assert.Contains("range exhausted", status.Message, StringComparison.Ordinal);
        Assert.Equal(["VERSION", "STATUS"], _node.Ipam.Calls);
    }

    [Fact]
    public void Status_does_not_ask_an_ipam_without_1_1_0()
    {
        _node.Ipam.Versions("0.4.0", "1.0.0");

        _node.Run("STATUS", _node.Config("1.1.0")).AssertQuietSuccess();

        Assert.Equal(["VERSION"], _node.Ipam.Calls);
    }

    [Fact]
    public void Gc_sends_the_valid_attachments_and_delegates_to_an_ipam_that_speaks_1_1_0()
    {
        JsonObject config = GcConfig();

        _node.Run("GC", config).AssertQuietSuccess();

        JsonElement[] valid = [.. _node.Daemon.Single("pod-gc").GetProperty("valid").EnumerateArray()];
        Assert.Equal(
            [("c0ffee01", "eth0"), ("beef02", "net1")],
            valid.Select(static a => (a.GetProperty("containerId").GetString(), a.GetProperty("ifName").GetString())));
        Assert.Equal(["VERSION", "GC"], _node.Ipam.Calls);
        Assert.Equal(config.ToJsonString(), _node.Ipam.StdinOf("GC"));
    }

    [Fact]
    public void Gc_skips_an_ipam_without_1_1_0_and_says_so()
    {
        _node.Ipam.Versions("0.4.0", "1.0.0");

        CniOutcome gc = _node.Run("GC", GcConfig());

        gc.AssertQuietSuccess();
        Assert.Equal(["VERSION"], _node.Ipam.Calls);
        Assert.Contains("skipped", gc.Stderr, StringComparison.Ordinal);
        Assert.Equal(["pod-gc"], _node.Daemon.Commands);
    }

    [Fact]
    public void Gc_without_valid_attachments_is_7_and_removes_nothing()
    {
        CniOutcome gc = _node.Run("GC", _node.Config("1.1.0"));

        Assert.Equal(7, gc.ErrorCode);
        Assert.Contains("cni.dev/valid-attachments", gc.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Daemon.Requests);
    }

    [Fact]
    public void Gc_with_the_daemon_down_still_collects_ipam()
    {
        _node.Daemon.Dispose();

        _node.Run("GC", GcConfig()).AssertQuietSuccess();

        Assert.Equal(["VERSION", "GC"], _node.Ipam.Calls);
    }

    [Fact]
    public void Gc_runs_ipam_even_when_the_daemon_fails_and_reports_both()
    {
        _node.Daemon.Refuse("pod-gc", "busy");
        _node.Ipam.Fail("GC", 11, "lock held");

        CniOutcome gc = _node.Run("GC", GcConfig());

        Assert.Equal(100, gc.ErrorCode);
        Assert.Contains("busy", gc.Message, StringComparison.Ordinal);
        Assert.Contains("lock held", gc.Message, StringComparison.Ordinal);
    }

    private JsonObject GcConfig() => _node.Config("1.1.0", static c => c["cni.dev/valid-attachments"] = JsonNode.Parse("""
        [{"containerID":"c0ffee01","ifname":"eth0"},{"containerID":"beef02","ifname":"net1"}]
        """));
}
