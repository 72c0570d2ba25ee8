using System.Net.Sockets;
using Dataplane.Cni;

namespace Dataplane.Tests.Cni;

/// <summary>ADD that fails: the error code and message, and that nothing stays held (IPAM DEL, pod-del).</summary>
[Trait("Category", "unit")]
public sealed class CniAddFailureTests : IDisposable
{
    private readonly CniTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public void Ipam_failure_is_101_with_its_message_and_nothing_else_runs()
    {
        _node.Ipam.Fail("ADD", 7, "no IP addresses available in range set: 10.244.1.1-10.244.1.254");

        CniOutcome add = _node.Run("ADD", _node.Config());

        Assert.Equal(101, add.ErrorCode);
        Assert.Contains("no IP addresses available in range set", add.Message, StringComparison.Ordinal);
        Assert.Contains("code 7", add.Json.GetProperty("details").GetString(), StringComparison.Ordinal);
        Assert.Empty(_node.Daemon.Requests);
        // No IPAM DEL: after a failed IPAM ADD it could release the address of a live attachment (a repeated ADD).
        Assert.Equal(["ADD"], _node.Ipam.Calls);
    }

    [Fact]
    public void Ipam_printing_garbage_is_101_saying_so()
    {
        _node.Ipam.Answer("ADD", "panic: runtime error", exitCode: 2);

        CniOutcome add = _node.Run("ADD", _node.Config());

        Assert.Equal(101, add.ErrorCode);
        Assert.Contains("exit 2", add.Message, StringComparison.Ordinal);
        Assert.Contains("panic: runtime error", add.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ipam_returning_no_address_is_101_and_released()
    {
        _node.Ipam.Answer("ADD", """{"cniVersion":"1.0.0","ips":[]}""");

        CniOutcome add = _node.Run("ADD", _node.Config());

        Assert.Equal(101, add.ErrorCode);
        Assert.Contains("no IP address", add.Message, StringComparison.Ordinal);
        Assert.Equal(["ADD", "DEL"], _node.Ipam.Calls);
        Assert.Empty(_node.Daemon.Requests);
    }

    [Fact]
    public void Ipam_missing_from_cni_path_is_101_naming_it_and_the_path()
    {
        CniOutcome add = _node.Run("ADD", _node.Config(change: static c => c["ipam"]!["type"] = "no-such-ipam"));

        Assert.Equal(101, add.ErrorCode);
        Assert.Contains("no-such-ipam not found in CNI_PATH", add.Message, StringComparison.Ordinal);
        Assert.Contains(_node.Ipam.Directory, add.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Daemon.Requests);
    }

    [Fact]
    public void Daemon_refusing_pod_add_is_100_with_its_reason_and_the_address_is_released()
    {
        _node.Daemon.Refuse("pod-add", "gateway 10.244.1.254 is not this node's gateway 10.244.1.1");

        CniOutcome add = _node.Run("ADD", _node.Config());

        Assert.Equal(100, add.ErrorCode);
        Assert.Contains("gateway 10.244.1.254 is not this node's gateway 10.244.1.1", add.Message, StringComparison.Ordinal);
        Assert.Equal(["ADD", "DEL"], _node.Ipam.Calls);
        Assert.Equal(["pod-add"], _node.Daemon.Commands); // a refusal created nothing: no pod-del
    }

    [Fact]
    public void Daemon_not_running_is_11_try_again_and_the_address_is_released()
    {
        _node.Daemon.Dispose(); // which also removes its socket file

        CniOutcome add = _node.Run("ADD", _node.Config());

        Assert.Equal(11, add.ErrorCode);
        Assert.Contains(_node.Daemon.SocketPath, add.Message, StringComparison.Ordinal);
        Assert.Contains("no such socket", add.Message, StringComparison.Ordinal);
        Assert.Equal(["ADD", "DEL"], _node.Ipam.Calls);
    }

    [Fact]
    public void Daemon_socket_nobody_listens_on_is_11_connection_refused()
    {
        _node.Daemon.Dispose();
        // A socket file nobody listens on, as a daemon that died leaves it (bound, never listening: connect is refused).
        using var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        stale.Bind(new UnixDomainSocketEndPoint(_node.Daemon.SocketPath));

        CniOutcome add = _node.Run("ADD", _node.Config());

        Assert.Equal(11, add.ErrorCode);
        Assert.Contains("connection refused", add.Message, StringComparison.Ordinal);
        Assert.Equal(["ADD", "DEL"], _node.Ipam.Calls);
    }

    [Fact]
    public void Daemon_not_answering_in_time_is_5_and_the_half_added_pod_is_removed_and_released()
    {
        _node.Timeouts = new DaemonTimeouts(TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(300));
        _node.Daemon.Silence("pod-add");

        CniOutcome add = _node.Run("ADD", _node.Config());

        Assert.Equal(5, add.ErrorCode);
        Assert.Contains("did not answer pod-add within 0.3 s", add.Message, StringComparison.Ordinal);
        Assert.Equal(["pod-add", "pod-del"], _node.Daemon.Commands);
        Assert.Equal(["ADD", "DEL"], _node.Ipam.Calls);
    }

    [Fact]
    public void Netns_that_does_not_exist_is_4_naming_CNI_NETNS_before_ipam_runs()
    {
        CniOutcome add = _node.Run("ADD", _node.Config(), static env => env["CNI_NETNS"] = "/var/run/netns/dpt-cni-gone");

        Assert.Equal(4, add.ErrorCode);
        Assert.Contains("CNI_NETNS", add.Message, StringComparison.Ordinal);
        Assert.Contains("/var/run/netns/dpt-cni-gone", add.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Ipam.Calls);
        Assert.Empty(_node.Daemon.Requests);
    }
}
