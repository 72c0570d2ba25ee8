using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json;
using Dataplane.Tests.EndToEnd;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Control;

/// <summary>
/// Issue 12, item 3: the control socket cannot hurt forwarding. Peers are checked (root or the control group),
/// connections are limited and time out, accept() survives running out of file descriptors, and numbers out of
/// range are one clear line. Each test has a real daemon of its own.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class ControlSocketHardeningTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private const string StatusRequest = """{"command":"status"}""";

    /// <summary>Sends one request line with nc as another user and returns what came back (or nc's error).</summary>
    private static ProcessResult SendAs(string socket, string setprivIds, string request) =>
        ProcessRunner.Run(s_timeout, "sh", "-c", $"printf '%s\\n' '{request}' | setpriv {setprivIds} nc -U -N '{socket}'");

    [RootFact]
    public void A_peer_neither_root_nor_in_the_control_group_is_refused_even_where_file_modes_let_it_connect()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a"] });
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(node.SocketPath));
        // An operator loosens the modes (or the socket sits somewhere shared): the peer check still holds.
        File.SetUnixFileMode(node.Directory, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(node.SocketPath, (UnixFileMode)0b110_110_110);

        ProcessResult nobody = SendAs(node.SocketPath, "--reuid 65534 --regid 65534 --clear-groups", StatusRequest);

        using (JsonDocument answer = JsonDocument.Parse(nobody.StdOut))
        {
            Assert.False(answer.RootElement.GetProperty("ok").GetBoolean(), nobody.StdOut);
            Assert.StartsWith("permission denied: the control socket serves root only (you are uid 65534)", answer.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(1, node.CtlJson("status").GetProperty("pods").GetInt32());
        Assert.Matches(@"(?m)^dataplane_control_refused_total\{reason=""peer""\} 1\b", node.CtlJson("metrics").GetProperty("body").GetString());
    }

    [RootFact]
    public void Members_of_the_control_group_get_a_0660_socket_of_their_group_and_are_served()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a"], DataplaneExtra = ["  controlGroup: 4242"] });

        Assert.Equal("660 4242", ProcessRunner.Run(s_timeout, "stat", "-c", "%a %g", node.SocketPath).EnsureSuccess().StdOut.Trim());
        foreach (string ids in (string[])["--reuid 65534 --regid 4242 --clear-groups", "--reuid 65534 --regid 65534 --groups 4242"])
        {
            ProcessResult member = SendAs(node.SocketPath, ids, StatusRequest);
            using JsonDocument answer = JsonDocument.Parse(member.StdOut);
            Assert.True(answer.RootElement.GetProperty("ok").GetBoolean(), $"{ids}: {member.StdOut}{member.StdErr}");
            Assert.Equal(node.NodeName, answer.RootElement.GetProperty("result").GetProperty("node").GetString());
        }

        // Not a member: the 0660 file keeps it out before the daemon even sees it.
        ProcessResult other = SendAs(node.SocketPath, "--reuid 65534 --regid 65534 --clear-groups", StatusRequest);
        Assert.DoesNotContain("\"ok\":true", other.StdOut, StringComparison.Ordinal);
    }

    [RootFact]
    public void An_idle_connection_is_closed_after_the_idle_timeout_while_a_live_stream_goes_on()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "b"], DataplaneExtra = ["  controlIdleTimeoutSeconds: 1"] });
        using var follow = new BackgroundProcess(NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "ctl", "--socket", node.SocketPath, "flows", "--follow");
        Poll.Until(() => follow.StdErr.Contains("following flow events", StringComparison.Ordinal), s_timeout, $"ctl flows --follow to start: {follow.StdErr}");

        using RawControlConnection idle = RawControlConnection.Open(node.SocketPath);
        string closing = idle.ReadToClose(s_timeout);

        Assert.Contains("no complete request within 1 s (dataplane.controlIdleTimeoutSeconds)", closing, StringComparison.Ordinal);
        // The follower has now been open for more than the idle timeout, and still streams.
        ProcessResult ping = node.ExecInPod("a", "ping", "-c", "1", "-W", "2", node.Pod("b").Ip);
        Assert.True(ping.ExitCode == 0, ping.StdOut + ping.StdErr);
        Poll.Until(() => follow.StdOut.Contains("[NEW]", StringComparison.Ordinal), s_timeout, $"the follower to print the ping's flow: {follow.StdOut} {follow.StdErr}");
        Assert.False(follow.HasExited, follow.StdErr);
    }

    [RootFact]
    public void The_connection_limit_holds_and_a_connection_over_it_is_refused_at_once()
    {
        // 4 at most, so one process may hold 1 (a quarter).
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a"], DataplaneExtra = ["  controlMaxConnections: 4", "  controlIdleTimeoutSeconds: 600"] });
        using RawControlConnection first = RawControlConnection.Open(node.SocketPath);
        using RawControlConnection second = RawControlConnection.Open(node.SocketPath);

        string refused = second.ReadToClose(s_timeout);

        Assert.Contains($"busy: your process (pid {Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}) holds 1 control connections", refused, StringComparison.Ordinal);
        Assert.True(first.IsQuietAndOpen(), "the admitted connection was answered or closed");

        var holders = new List<BackgroundProcess>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                holders.Add(new BackgroundProcess("nc", "-U", node.SocketPath));
            }

            // With the three holders in, the daemon is full: even ctl is turned away, with the reason.
            ProcessResult busy = Poll.UntilValue(() => node.Ctl("status") is { ExitCode: not 0 } r ? r : null, s_timeout, "ctl status to be refused while 4 connections are open");
            Assert.Contains("busy: 4 control connections are open, the limit (dataplane.controlMaxConnections) is 4", busy.StdErr, StringComparison.Ordinal);
        }
        finally
        {
            foreach (BackgroundProcess holder in holders)
            {
                holder.Dispose();
            }
        }

        Poll.Until(() => node.Ctl("status").ExitCode == 0, s_timeout, "ctl status once the holders are gone");
        Assert.True(first.IsQuietAndOpen(), "the admitted connection was answered or closed");
    }

    [RootFact]
    public void Numbers_out_of_range_are_one_line_from_ctl_and_from_the_daemon_itself()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a"] });

        foreach ((string[] args, string expected) in (ReadOnlySpan<(string[], string)>)[
            (["trace", "--seconds", "1e300"], "dataplane ctl trace: seconds 1E+300 is out of range: it must be more than 0 and at most 3600"),
            (["trace", "--seconds", "NaN"], "dataplane ctl trace: seconds NaN is out of range"),
            (["trace", "0"], "dataplane ctl trace: count 0 is out of range: it must be 1..1000"),
            (["conntrack", "--limit", "-1"], "dataplane ctl conntrack: limit -1 is out of range: it must be 1..10000"),
            (["conntrack", "--after", "-1"], "dataplane ctl conntrack: after -1 is out of range"),
            (["capture", "a", "-w", Path.Combine(node.Directory, "x.pcap"), "--seconds", "-1"], "dataplane ctl capture: seconds -1 is out of range"),
        ])
        {
            ProcessResult result = node.Ctl(args);
            Assert.Equal(2, result.ExitCode);
            Assert.StartsWith(expected, result.StdErr, StringComparison.Ordinal);
            Assert.Equal(1, result.StdErr.TrimEnd().Split('\n').Length);
        }

        // Another client (not ctl) sends the same: the daemon answers with the line, not an exception.
        using RawControlConnection raw = RawControlConnection.Open(node.SocketPath);
        raw.Send("""{"command":"trace","seconds":1e300}""");
        using JsonDocument answer = JsonDocument.Parse(raw.ReadToClose(s_timeout));
        Assert.Equal("seconds 1E+300 is out of range: it must be more than 0 and at most 3600", answer.RootElement.GetProperty("error").GetString());
        Assert.False(node.HasExited);
        Assert.DoesNotContain("   at ", node.Log, StringComparison.Ordinal);
    }
}
