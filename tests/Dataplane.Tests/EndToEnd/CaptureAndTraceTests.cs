using System.Runtime.Versioning;
using System.Text.Json;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// `ctl capture` and `ctl trace` against a running node, read by tshark as an operator would: a capture streamed
/// to stdout into `tshark -r -`, every port into one pcapng, pcap-filter expressions, and trace as JSON.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class CaptureAndTraceTests : IClassFixture<CaptureAndTraceTests.Node>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly NodeUnderTest _node;
    private readonly PodInfo _client;
    private readonly PodInfo _server;

    public CaptureAndTraceTests(Node fixture)
    {
        _node = fixture.Value;
        _client = _node.Pod("c");
        _server = _node.Pod("s");
    }

    public sealed class Node : IDisposable
    {
        public NodeUnderTest Value { get; } = NodeUnderTest.Start(new NodeOptions { Pods = ["c", "s"] });

        public void Dispose() => Value.Dispose();
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Runs <paramref name="work"/> while `c` pings `s` (50/s), after the first reply.</summary>
    private async Task<T> WhilePinging<T>(Func<T> work)
    {
        Task<ProcessResult> ping = _node.ExecInPodAsync("c", s_timeout, "ping", "-c", "400", "-i", "0.02", "-W", "2", _server.Ip);
        try
        {
            Poll.Until(() => _node.ExecInPod("c", "ping", "-c", "1", "-W", "1", _server.Ip).ExitCode == 0, s_timeout, "c to get a ping reply from s");
            return work();
        }
        finally
        {
            await ping;
        }
    }

    [RootFact]
    public async Task Capture_to_stdout_pipes_into_tshark()
    {
        string ctl = string.Join(' ', new[] { NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "ctl", "--socket", _node.SocketPath,
            "capture", "c", "-w", "-", "--filter", "icmp", "--count", "6", "--seconds", "20" }.Select(Quote));
        string script = $"set -o pipefail; {ctl} | tshark -r - -T fields -E separator=, -e ip.src -e ip.dst -e icmp.type";

        ProcessResult piped = await WhilePinging(() => ProcessRunner.Run(s_timeout, "bash", "-c", script));

        Assert.True(piped.ExitCode == 0, $"exit {piped.ExitCode}: {piped.StdErr}{Environment.NewLine}{_node.DaemonOutput()}");
        string[] frames = piped.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(6, frames.Length);
        Assert.All(frames, f => Assert.Contains(f, (string[])[$"{_client.Ip},{_server.Ip},8", $"{_server.Ip},{_client.Ip},0"]));
        Assert.Contains("6 frames of c written to stdout as pcap", piped.StdErr);
    }

    [RootFact]
    public async Task Capture_all_writes_one_pcapng_with_each_port_as_a_named_interface()
    {
        string pcapng = Path.Combine(_node.Directory, "all.pcapng");

        JsonElement result = await WhilePinging(() => _node.CtlJson("capture", "--all", "-w", pcapng, "--filter", "icmp", "--count", "12", "--seconds", "20"));

        Assert.Equal(12, result.GetProperty("packets").GetInt64());
        Assert.Equal("pcapng", result.GetProperty("format").GetString());
        ProcessResult tshark = ProcessRunner.Run(s_timeout, "tshark", "-r", pcapng, "-T", "fields", "-E", "separator=,", "-e", "frame.interface_name", "-e", "ip.src", "-e", "icmp.type").EnsureSuccess();
        string[] frames = tshark.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(12, frames.Length);
        Assert.All(frames, f => Assert.Contains(f.Split(',')[0], (string[])["c", "s"]));
        // A request leaves c's port (received from c) and enters s's (sent to s): both interfaces show it.
        Assert.Contains($"c,{_client.Ip},8", frames);
        Assert.Contains($"s,{_client.Ip},8", frames);
    }

    [RootFact]
    public async Task Trace_with_a_filter_traces_only_matching_packets_and_json_is_structured()
    {
        ProcessResult trace = await WhilePinging(() => _node.Ctl("trace", "2", "--filter", "icmp[icmptype] == icmp-echoreply", "-o", "json"));

        Assert.True(trace.ExitCode == 0, $"{trace.StdErr}{Environment.NewLine}{_node.DaemonOutput()}");
        using JsonDocument json = JsonDocument.Parse(trace.StdOut);
        // The whole result, as every `-o json`: the packets as data beside the text.
        JsonElement[] packets = [.. json.RootElement.GetProperty("packets").EnumerateArray()];
        Assert.Equal(2, packets.Length);
        foreach (JsonElement packet in packets)
        {
            Assert.Equal("s", packet.GetProperty("rxPort").GetString());
            Assert.True(packet.GetProperty("timestampNanoseconds").GetInt64() > 1_700_000_000_000_000_000);
            JsonElement[] stages = [.. packet.GetProperty("stages").EnumerateArray()];
            JsonElement ip4 = stages.Single(s => s.GetProperty("stage").GetString() == "ip4-input");
            Assert.Equal($"{_server.Ip} > {_client.Ip} icmp", ip4.GetProperty("detail").GetString());
            Assert.Equal("next", ip4.GetProperty("verdict").GetString());
            Assert.Equal("source-guard", ip4.GetProperty("next").GetString());
            Assert.Equal("tx", stages[^1].GetProperty("verdict").GetString());
        }
    }

    [RootTheory]
    [InlineData("trace", "1")]
    [InlineData("capture", "c")]
    public void A_filter_that_does_not_compile_is_a_one_line_error_naming_libpcaps_reason(string command, string argument)
    {
        string[] args = command == "capture"
            ? [command, argument, "-w", Path.Combine(_node.Directory, "never.pcap"), "--filter", "tcp prot 80"]
            : [command, argument, "--filter", "tcp prot 80"];

        ProcessResult result = _node.Ctl(args);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"dataplane ctl {command}: filter 'tcp prot 80' does not compile: ", result.StdErr.Trim());
        Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(Path.Combine(_node.Directory, "never.pcap")));
    }

    [RootFact]
    public async Task A_capture_tcpdump_took_with_any_on_a_pod_replays_through_the_same_pipeline()
    {
        // What a user brings from a real node: `tcpdump -i any` (Linux cooked records) in the pod's namespace.
        string capture = Path.Combine(_node.Directory, "c-any.pcap");
        string output = Path.Combine(_node.Directory, "replayed");
        await WhilePinging(() => ProcessRunner.Run(s_timeout, "ip", "netns", "exec", _client.Netns,
            "tcpdump", "-i", "any", "-w", capture, "-c", "6", "icmp").EnsureSuccess());
        ProcessResult linkType = ProcessRunner.Run(s_timeout, "tshark", "-r", capture, "-T", "fields", "-e", "frame.encap_type", "-c", "1").EnsureSuccess();
        int requests = ProcessRunner.Run(s_timeout, "tshark", "-r", capture, "-Y", "icmp.type == 8").EnsureSuccess()
            .StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

        ProcessResult replay = ProcessRunner.Run(s_timeout, NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, "replay",
            "--config", _node.ConfigPath, "--in", $"c={capture}", "-w", output);

        Assert.True(replay.ExitCode == 0, $"exit {replay.ExitCode}: {replay.StdErr}");
        Assert.NotEqual("1", linkType.StdOut.Trim()); // not Ethernet: the cooked link type tcpdump writes for "any"
        Assert.InRange(requests, 1, 6);
        // The requests c sent enter c's port and are routed to s, as the live node forwarded them; the replies c
        // received, replayed as if c sent them, carry s's address and are dropped by source-guard.
        string[] forwarded = ProcessRunner.Run(s_timeout, "tshark", "-r", Path.Combine(output, "s.pcap"), "-T", "fields", "-E", "separator=,",
            "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type").EnsureSuccess().StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(requests, forwarded.Length);
        Assert.All(forwarded, f => Assert.Equal($"{_client.Ip},{_server.Ip},8", f));
    }
}
