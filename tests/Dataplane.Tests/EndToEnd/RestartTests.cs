using System.Net.Sockets;
using System.Text.RegularExpressions;
using Dataplane.Tests.Infrastructure;
using System.Runtime.Versioning;
using Xunit.Abstractions;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// A restart of the daemon, clean (SIGTERM) or not (`kill -9`), as a node's pods see it: their eth0 stays (persistent
/// TAPs, adopted by the next daemon), and every tracked flow carries on (conntrack in a mapped file), so a TCP stream
/// through a ClusterIP loses no connection and a 50 ms ping only a gap.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed partial class RestartTests(ITestOutputHelper output)
{
    private const string Vip = "10.96.7.10";
    private const int TargetPort = 8080;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private static readonly string WebService = $$"""
          - name: web
            clusterIP: {{Vip}}
            ports: [ { name: http, protocol: TCP, port: 80, targetPort: {{TargetPort}} } ]
            endpoints: [ { ip: 10.244.1.12 } ]

        """;

    [RootTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_tcp_stream_through_a_cluster_ip_and_a_ping_carry_on_across_a_restart(bool kill)
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["c", "web"], Services = WebService });
        PodInfo web = node.Pod("web");
        using var server = new NameEchoServer(node, "web", TargetPort);
        using Socket socket = await PodServers.ConnectAsync(node, "c", Vip, 80, s_timeout);
        Assert.StartsWith("web ", await PodServers.ReadLineAsync(socket, s_timeout), StringComparison.Ordinal);
        string tapBefore = TapIndex(web);
        var stream = new EchoStream(socket);
        using var stop = new CancellationTokenSource();
        Task streaming = stream.RunAsync(stop.Token);
        // 50 ms pings from c to web across the restart, until the stream has carried on: the largest run of missing
        // replies is the gap the pods saw.
        using var ping = new BackgroundProcess("ip", "netns", "exec", node.Pod("c").Netns, "ping", "-i", "0.05", "-W", "1", web.Ip);
        Poll.Until(() => stream.Echoes > 20 && ping.StdOut.Contains("icmp_seq=20 ", StringComparison.Ordinal), s_timeout, "the stream to echo and ping to answer before the restart");

        DateTime restartAt = DateTime.UtcNow;
        node.Restart(kill);
        TimeSpan restart = DateTime.UtcNow - restartAt;
        long echoesAtRestart = stream.Echoes;
        Poll.Until(() => stream.Echoes > echoesAtRestart + 50 || stream.Error is not null, s_timeout, "the stream to echo after the restart");
        ping.Interrupt();
        ping.WaitForExit(s_timeout);
        await stop.CancelAsync();
        await streaming;

        (int sent, int received, int largestGap, int after) = PingGap(ping.StdOut);
        output.WriteLine($"{(kill ? "kill -9" : "SIGTERM")} and start: `ctl status` answered again after {restart.TotalMilliseconds:0} ms; " +
            $"TCP via the ClusterIP: no reset, longest echo wait {stream.LongestGap.TotalMilliseconds:0} ms; " +
            $"ping every 50 ms: {received}/{sent} answered, largest gap {largestGap * 50} ms");
        Assert.True(stream.Error is null, $"the connection through the ClusterIP broke: {stream.Error}{Environment.NewLine}{node.DaemonOutput()}");
        Assert.True(stream.Echoes > echoesAtRestart + 50, $"the stream did not carry on after the restart{Environment.NewLine}{node.DaemonOutput()}");
        Assert.True(after >= 10, $"ping did not come back after its largest gap: {ping.StdOut}");
        Assert.Equal(tapBefore, TapIndex(web)); // the same eth0, adopted, not made anew
        Match restored = RestoredFlows().Match(node.Log);
        Assert.True(restored.Success && int.Parse(restored.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1,
            $"the second daemon restored no flow{Environment.NewLine}{node.DaemonOutput()}");
    }

    [RootFact]
    public void A_pod_added_at_run_time_is_attached_again_after_a_kill_and_a_pod_gone_from_the_config_is_removed()
    {
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["a", "b"] });
        using var namespaces = new TestNamespaces();
        string late = namespaces.NewName();
        node.CtlJson("pod", "add", "late", "--netns", late, "--ip", "10.244.1.50/24");

        node.Restart(kill: true);

        Assert.Contains(node.CtlJson("pod", "list").EnumerateArray(), p => p.GetProperty("name").GetString() == "late");
        ProcessResult reach = TestNamespaces.Exec(late, "ping", "-c", "3", "-i", "0.2", "-W", "2", node.Pod("a").Ip);
        Assert.True(reach.ExitCode == 0, $"late -> a after the restart: {reach.StdOut}{reach.StdErr}{Environment.NewLine}{node.DaemonOutput()}");
        Assert.Contains("pod late: attached again after a restart", node.Log, StringComparison.Ordinal);

        // The record, not a guess, says what is ours: `ctl pod del` after the restart still removes the namespace it made.
        node.CtlJson("pod", "del", "late");
        Assert.DoesNotContain(late, TestNamespaces.ListNamespaces());
    }

    private static string TapIndex(PodInfo pod)
        => TestNamespaces.IpJson("-n", pod.Netns, "link", "show", "eth0")[0].GetProperty("ifindex").GetRawText();

    /// <summary>
    /// Requests sent, replies received, the largest run of consecutive missing sequence numbers in ping's output, and
    /// the replies after that run.
    /// </summary>
    private static (int Sent, int Received, int LargestGap, int After) PingGap(string output)
    {
        int[] seqs = [.. Sequence().Matches(output).Select(static m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Distinct().Order()];
        int largest = 0, after = seqs.Length;
        for (int i = 1; i < seqs.Length; i++)
        {
            if (seqs[i] - seqs[i - 1] - 1 > largest)
            {
                largest = seqs[i] - seqs[i - 1] - 1;
                after = seqs.Length - i;
            }
        }

        Match transmitted = Transmitted().Match(output);
        int sent = transmitted.Success ? int.Parse(transmitted.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : seqs.LastOrDefault();
        return (sent, seqs.Length, largest, after);
    }

    [GeneratedRegex(@"(\d+) packets transmitted")]
    private static partial Regex Transmitted();

    [GeneratedRegex(@"icmp_seq=(\d+)")]
    private static partial Regex Sequence();

    [GeneratedRegex(@"conntrack: (\d+) flow\(s\) restored")]
    private static partial Regex RestoredFlows();
}
