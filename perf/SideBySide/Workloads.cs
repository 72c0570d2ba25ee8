using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Dataplane.SideBySide;

/// <summary>What is measured, in the units reported.</summary>
internal enum Metric
{
    TcpPodGbps,
    TcpVipGbps,
    UdpMpps,
    UdpOfferedMpps,
    LatencyP50Us,
    LatencyP99Us,
    ConnectionsPerSecond,
    NodePortTcpGbps,
    NodePortLatencyP50Us,
    NodePortLatencyP99Us,
    NodePortConnectionsPerSecond,
    EgressTcpGbps,
    EgressLatencyP50Us,
    EgressLatencyP99Us,
    EgressConnectionsPerSecond,
}

/// <summary>
/// The traffic, the same commands on every path, client in the client pod and server in the server pod:
/// iperf3 for TCP, trafgen for 64-byte UDP frames, sockperf ping-pong for latency, connrate for new connections.
/// </summary>
internal sealed partial class Workloads(Tools tools, string workDir, int seconds, int connectionThreads)
{
    /// <summary>One iperf3 TCP stream for <c>seconds</c> after a 1 s warm-up that is not counted; Gbit/s received.</summary>
    /// <param name="from">The namespace the client runs in; the client pod by default (the outside for NodePort).</param>
    public double TcpGbps(TestPath path, string ip, int port, string? from = null)
    {
        string json = Shell.Run(["ip", "netns", "exec", from ?? path.ClientNs, "iperf3", "-c", ip, "-p", $"{port}", "-t", $"{seconds}", "-O", "1", "-J"], Timeout);
        return JsonNode.Parse(json)!["end"]!["sum_received"]!["bits_per_second"]!.GetValue<double>() / 1e9;
    }

    /// <summary>
    /// trafgen sends 64-byte frames (UDP, 22-byte payload) pod-to-pod from one core as fast as it can; the
    /// result is what reaches the server's eth0 per second, after a 1 s warm-up. Also returns what the client's
    /// eth0 was offered (sent plus dropped at its queue).
    /// </summary>
    public (double ReceivedMpps, double OfferedMpps) UdpMpps(TestPath path)
    {
        string config = Path.Combine(workDir, "udp64.trafgen");
        File.WriteAllText(config, $$"""
            {
              eth(da={{TestPath.ServerMac}}, sa={{TestPath.ClientMac}}),
              ipv4(saddr={{TestPath.ClientIp}}, daddr={{TestPath.ServerIp}}, ttl=64),
              udp(sport=40000, dport=9),
              fill(0x00, 22)
            }
            """);
        // -P 1: one sender process; --no-sock-mem and --notouch-irq: leave host-wide settings alone.
        using Background blaster = Shell.Start("ip", "netns", "exec", path.ClientNs, "trafgen", "-o", "eth0", "-i", config,
            "-P", "1", "--no-sock-mem", "--notouch-irq", "-C");
        try
        {
            Sleep(TimeSpan.FromSeconds(1));
            if (blaster.HasExited)
            {
                throw new InvalidOperationException($"trafgen exited: {Shell.Tail(blaster.Output)}");
            }

            (long received0, long offered0, var clock) = (RxPackets(path.ServerNs), TxOffered(path.ClientNs), Stopwatch.StartNew());
            Sleep(TimeSpan.FromSeconds(seconds));
            (long received1, long offered1, double elapsed) = (RxPackets(path.ServerNs), TxOffered(path.ClientNs), clock.Elapsed.TotalSeconds);
            return ((received1 - received0) / elapsed / 1e6, (offered1 - offered0) / elapsed / 1e6);
        }
        finally
        {
            blaster.Interrupt();
        }
    }

    /// <summary>sockperf TCP ping-pong (14-byte messages, one in flight) for <c>seconds</c>; round-trip p50 and p99 in µs.</summary>
    public (double P50, double P99) LatencyUs(TestPath path, string ip, int port, string? from = null)
    {
        string output = Shell.Run(["ip", "netns", "exec", from ?? path.ClientNs, "sockperf", "ping-pong", "--tcp", "--full-rtt",
            "-i", ip, "-p", $"{port}", "-t", $"{seconds}"], Timeout);
        return (Percentile(output, "50.000"), Percentile(output, "99.000"));
    }

    /// <summary>connrate with <c>connectionThreads</c> client threads for <c>seconds</c>: full TCP connections per second.</summary>
    public double ConnectionsPerSecond(TestPath path, string ip, int port, string? from = null)
    {
        string output = Shell.Run(["ip", "netns", "exec", from ?? path.ClientNs, tools.ConnRate, "client", ip, $"{port}", $"{seconds}", $"{connectionThreads}"], Timeout);
        Match match = ConnRateLine().Match(output);
        if (!match.Success)
        {
            throw new InvalidOperationException($"connrate: unexpected output '{output.Trim()}'");
        }

        return double.Parse(match.Groups["rate"].Value, CultureInfo.InvariantCulture);
    }

    private TimeSpan Timeout => TimeSpan.FromSeconds(seconds + 60);

    private static long RxPackets(string ns) => LinkStats(ns)["rx"]!["packets"]!.GetValue<long>();

    private static long TxOffered(string ns)
    {
        JsonNode tx = LinkStats(ns)["tx"]!;
        return tx["packets"]!.GetValue<long>() + tx["dropped"]!.GetValue<long>();
    }

    private static JsonNode LinkStats(string ns) =>
        JsonNode.Parse(Shell.Run("ip", "-n", ns, "-j", "-s", "link", "show", "dev", "eth0"))![0]!["stats64"]!;

    private static double Percentile(string sockperf, string percentile)
    {
        Match match = Regex.Match(sockperf, $@"percentile {Regex.Escape(percentile)} =\s*(?<us>[0-9.]+)");
        return match.Success
            ? double.Parse(match.Groups["us"].Value, CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"sockperf printed no {percentile} percentile: {Shell.Tail(sockperf)}");
    }

    private static void Sleep(TimeSpan time)
    {
        Shell.Stopping.WaitHandle.WaitOne(time);
        Shell.Stopping.ThrowIfCancellationRequested();
    }

    [GeneratedRegex(@"per_second (?<rate>[0-9.]+)")]
    private static partial Regex ConnRateLine();
}
