using System.Text.Json;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Pipeline;
using Dataplane.Replay;
using Dataplane.Tests.Io;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// `dataplane replay` over captures of mixed traffic on two ports: per-port output captures with the expected
/// frames, summary.json with every counter, output checksums verified by tshark, and the CLI end to end.
/// </summary>
[Trait("Category", "replay")]
public sealed class ReplayTests
{
    private const long Millisecond = 1_000_000;

    private static NodeConfig Config() => TestConfigs.OneBackend();

    /// <summary>What the client port receives, each with the port(s) its output should appear on.</summary>
    private static (byte[] Frame, string[] Out)[] ClientFrames() =>
    [
        (Frames.ArpRequest(ClientMac, ClientIp, GatewayIp), ["client"]),
        (Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, GatewayIp), ["client"]),
        (Frames.Udp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 5000, 6000), ["web-1"]),
        (Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5001, 6001, data: new byte[300]), ["uplink"]),
        (Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, syn: true), ["web-1"]),
        (Frames.Udp4(ClientMac, GatewayMac, Web1Ip, RemotePodIp, 5002, 6002), []),
        (Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5003, 6003)[..30], []),
        (Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5004, 6004, ttl: 1), ["client"]),
        (Frames.Udp4(ClientMac, GatewayMac, ClientIp, "10.99.0.1", 5005, 6005), ["client"]),
        (Build.Raw(ClientMac, Web1Mac, 0x88B5, new byte[46]), []),
        (Frames.Udp6(ClientMac, GatewayMac, ClientIp6, RemotePodIp6, 5006, 6006), ["uplink"]),
        (Build.NeighborSolicitation(ClientMac, "33:33:ff:00:00:01", ClientIp6, "ff02::1:ff00:1", GatewayIp6), ["client"]),
        // To a MAC no pod has (a pod's own is static, never unknown): flooded to the other pods.
        (Frames.Udp4(ClientMac, "02:00:00:00:99:99", ClientIp, Web2Ip, 5007, 6007), ["web-1", "web-2"]),
    ];

    private static (byte[] Frame, string[] Out)[] UplinkFrames() =>
    [
        (Frames.ArpRequest(NodeBMac, NodeBIp, UplinkIp), ["uplink"]),
        (Frames.Udp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 6001, 5001), ["client"]),
        (Frames.Icmp4Echo(NodeBMac, UplinkMac, NodeBIp, UplinkIp), ["uplink"]),
        (Frames.Udp4(NodeBMac, "02:00:00:00:77:99", NodeBIp, ClientIp, 1, 2), []),
        (Frames.Tcp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 41000, 8080, syn: true), ["client"]),
    ];

    /// <summary>Client frames at 0, 10, 20... ms; uplink frames at 5, 15, 25... ms: the replay merges them by time.</summary>
    private static (string ClientPcap, string UplinkPcap) WriteInputs(TempDirectory dir)
    {
        string client = dir.File("in-client.pcap");
        string uplink = dir.File("in-uplink.pcap");
        ReplayFiles.WritePcap(client, ClientFrames().Select((f, i) => (PipelineHarness.T0 + (i * 10 * Millisecond), f.Frame)));
        ReplayFiles.WritePcap(uplink, UplinkFrames().Select((f, i) => (PipelineHarness.T0 + (((i * 10) + 5) * Millisecond), f.Frame)));
        return (client, uplink);
    }

    private static Dictionary<string, int> ExpectedOutputCounts()
        => ClientFrames().Concat(UplinkFrames()).SelectMany(static f => f.Out).GroupBy(static p => p).ToDictionary(static g => g.Key, static g => g.Count());

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(256)]
    public void Replay_writes_each_ports_output_and_a_summary_with_every_counter(int batchSize)
    {
        using var dir = new TempDirectory();
        (string clientPcap, string uplinkPcap) = WriteInputs(dir);
        string outDir = dir.File("out");

        ReplaySummary? summary = ReplayRun.Run(Config(), [new ReplayInput("client", clientPcap), new ReplayInput("uplink", uplinkPcap)], outDir, batchSize, trace: null, out string? error);

        Assert.Null(error);
        Assert.NotNull(summary);
        Dictionary<string, int> expected = ExpectedOutputCounts();
        Assert.Equal(expected.Keys.Order(), Directory.GetFiles(outDir, "*.pcap").Select(Path.GetFileNameWithoutExtension).Order()!);
        foreach ((string port, int count) in expected)
        {
            List<(long Timestamp, byte[] Frame)> frames = ReplayFiles.ReadPcap(Path.Combine(outDir, port + ".pcap"));
            Assert.True(count == frames.Count, $"{port}.pcap has {frames.Count} frames, expected {count}");
            Assert.All(frames, static f => FrameAssert.ChecksumsValid(f.Frame));
            if (batchSize == 1)
            {
                // One packet per vector keeps output in input order; larger vectors group output by the stage that sent it.
                Assert.Equal(frames.Select(static f => f.Timestamp).Order(), frames.Select(static f => f.Timestamp));
            }
        }

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        JsonElement root = json.RootElement;
        Assert.Equal("node-a", root.GetProperty("node").GetString());
        Assert.Equal(ClientFrames().Length + UplinkFrames().Length, root.GetProperty("framesRead").GetInt64());
        Assert.Equal(0, root.GetProperty("framesTooLarge").GetInt64());
        Assert.Equal(
            expected.OrderBy(static e => e.Key).Select(static e => (e.Key, (long)e.Value)),
            root.GetProperty("outputs").EnumerateArray().Select(static o => (o.GetProperty("port").GetString()!, o.GetProperty("frames").GetInt64())).OrderBy(static o => o.Item1));
        Assert.Equal(
            [("client", ClientFrames().Length), ("uplink", UplinkFrames().Length)],
            root.GetProperty("inputs").EnumerateArray().Select(static i => (i.GetProperty("port").GetString()!, (int)i.GetProperty("frames").GetInt64())));

        JsonElement stats = root.GetProperty("stats");
        Assert.Equal(ClientFrames().Length + UplinkFrames().Length, stats.GetProperty("packets").GetInt64());
        var stages = stats.GetProperty("stages").EnumerateArray().ToDictionary(static s => s.GetProperty("name").GetString()!);
        Assert.Equal(NodeDataplane.StageOrder, stats.GetProperty("stages").EnumerateArray().Select(static s => s.GetProperty("name").GetString()));

        // Every drop reason and event of every stage is in the file, zero or not.
        Graph reference = new NodeDataplane(Config()).CreateGraph(new PacketBatch(1));
        foreach (Node node in reference.Nodes)
        {
            JsonElement stage = stages[node.Name].GetProperty("drops");
            Assert.Equal(node.DropReasons.Select(static r => r.Name).Order(), stage.EnumerateObject().Select(static p => p.Name).Order());
            Assert.Equal(node.Events.Select(static r => r.Name).Order(), stages[node.Name].GetProperty("events").EnumerateObject().Select(static p => p.Name).Order());
        }

        long Drop(string stage, string reason) => stages[stage].GetProperty("drops").GetProperty(reason).GetInt64();
        long Event(string stage, string name) => stages[stage].GetProperty("events").GetProperty(name).GetInt64();
        Assert.Equal(1, Drop("ethernet-input", "unknown-ether-type"));
        Assert.Equal(1, Drop("ethernet-input", "not-for-us"));
        Assert.Equal(1, Drop("ip4-input", "truncated"));
        Assert.Equal(1, Drop("source-guard", "spoofed-ip4"));
        Assert.Equal(4, stats.GetProperty("drops").GetInt64());
        Assert.Equal(2, Event("arp", "replies-sent"));
        Assert.Equal(2, Event("ip-local", "echo-replies"));
        Assert.Equal(2, Event("icmp-error", "errors-sent"));
        Assert.Equal(1, Event("ndp", "advertisements-sent"));
        Assert.Equal(1, Event("conntrack", "service-flows"));
        Assert.Equal(1, Event("bridge", "unknown-unicast-flooded"));

        var ports = stats.GetProperty("ports").EnumerateArray().ToDictionary(static p => p.GetProperty("name").GetString()!);
        Assert.Equal(ClientFrames().Length, ports["client"].GetProperty("rxPackets").GetInt64());
        Assert.Equal(UplinkFrames().Length, ports["uplink"].GetProperty("rxPackets").GetInt64());
        foreach ((string port, int count) in expected)
        {
            Assert.Equal(count, ports[port].GetProperty("txPackets").GetInt64());
        }
    }

    [Fact]
    public void Tshark_finds_every_checksum_of_the_replay_output_valid()
    {
        using var dir = new TempDirectory();
        (string clientPcap, string uplinkPcap) = WriteInputs(dir);
        string outDir = dir.File("out");
        Assert.NotNull(ReplayRun.Run(Config(), [new ReplayInput("client", clientPcap), new ReplayInput("uplink", uplinkPcap)], outDir, 256, null, out string? error));
        Assert.Null(error);

        string[] outputs = Directory.GetFiles(outDir, "*.pcap");
        Assert.Equal(4, outputs.Length);
        foreach (string pcap in outputs)
        {
            Assert.True(ReplayFiles.TsharkBadChecksums(pcap).Length == 0, $"tshark found bad checksums in {pcap}:\n{ReplayFiles.TsharkBadChecksums(pcap)}");
        }
    }

    [Fact]
    public void Tshark_check_does_report_a_bad_checksum()
    {
        // The filter must be able to fail: a frame with a broken IPv4 header checksum and one with a broken UDP checksum.
        using var dir = new TempDirectory();
        string pcap = dir.File("bad.pcap");
        byte[] badIp = Build.Patch(Frames.Udp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 1, 2), 24, 0x12, 0x34);
        byte[] badUdp = Build.Patch(Frames.Udp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 1, 2), 14 + 20 + 6, 0x12, 0x34);
        byte[] good = Frames.Udp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 1, 2);
        ReplayFiles.WritePcap(pcap, [(PipelineHarness.T0, good), (PipelineHarness.T0 + 1, badIp), (PipelineHarness.T0 + 2, badUdp)]);

        string[] bad = ReplayFiles.TsharkBadChecksums(pcap).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(2, bad.Length);
    }

    [Fact]
    public void Replay_cli_runs_end_to_end_and_prints_the_table()
    {
        using var dir = new TempDirectory();
        (string clientPcap, string uplinkPcap) = WriteInputs(dir);
        string config = dir.File("node.yaml");
        File.WriteAllText(config, Yaml(TestConfigs.OneBackendServices));
        string outDir = dir.File("out");

        (int exit, string stdout, string stderr) = ReplayFiles.Cli("replay", "--config", config, "--in", $"client={clientPcap}", "--in", $"uplink={uplinkPcap}", "--out", outDir);

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        string[] lines = stdout.Split('\n');
        Assert.Contains($"node node-a: replayed {ClientFrames().Length + UplinkFrames().Length} frames from 2 file(s)", lines[0]);
        Assert.Contains(lines, static l => l.TrimStart().StartsWith("port ", StringComparison.Ordinal) && l.Contains("rx") && l.Contains("tx"));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("client ", StringComparison.Ordinal) && l.Contains(Path.Combine(outDir, "client.pcap")));
        Assert.Contains(lines, static l => l.TrimStart().StartsWith("source-guard", StringComparison.Ordinal) && l.Contains("drop spoofed-ip4 1"));
        Assert.Contains(lines, static l => l.Contains("4 dropped in all"));
        Assert.True(File.Exists(Path.Combine(outDir, "summary.json")));
        Assert.Equal(ExpectedOutputCounts().Keys.Order(), Directory.GetFiles(outDir, "*.pcap").Select(Path.GetFileNameWithoutExtension).Order()!);
    }

    [Fact]
    public void Replay_cli_with_a_bad_config_exits_2_naming_file_line_and_column()
    {
        using var dir = new TempDirectory();
        string config = dir.File("broken.yaml");
        string yaml = Yaml().Replace($"  mac: {GatewayMac}\n", $"  mac: {GatewayMac}\n  mtu: big\n", StringComparison.Ordinal);
        File.WriteAllText(config, yaml);
        int line = Array.FindIndex(yaml.Split('\n'), static l => l.StartsWith("  mtu: big", StringComparison.Ordinal)) + 1;

        (int exit, string stdout, string stderr) = ReplayFiles.Cli("replay", "--config", config, "--in", $"client={dir.File("none.pcap")}", "--out", dir.File("out"));

        Assert.Equal(2, exit);
        Assert.Contains($"{config}:{line}:", stderr);
        Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(config)}:{line}:\d+: node\.mtu", stderr);
        Assert.False(Directory.Exists(dir.File("out")), "nothing may be written for a bad config");
        Assert.DoesNotContain("replayed", stdout);
    }
}
