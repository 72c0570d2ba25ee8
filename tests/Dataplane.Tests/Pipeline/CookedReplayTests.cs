using System.Buffers.Binary;
using System.Text.Json;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Io.Pcap;
using Dataplane.Replay;
using Dataplane.Tests.Io;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// `dataplane replay` reads what a user captures on a real node without conversion: Linux cooked captures (SLL,
/// SLL2: `tcpdump -i any`), pcapng with several interfaces mapped to ports, and records libpcap repairs. Each
/// cooked or multi-interface replay must produce exactly what the equivalent Ethernet captures produce.
/// </summary>
[Trait("Category", "replay")]
public sealed class CookedReplayTests
{
    private const long Millisecond = 1_000_000;

    private static NodeConfig Config() => TestConfigs.OneBackend();

    /// <summary>Client frames addressed to the gateway MAC, as a pod sends them to its default route.</summary>
    private static byte[][] ClientFrames() =>
    [
        Frames.Udp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 5000, 6000),
        Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5001, 6001, data: new byte[300]),
        Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, syn: true),
        Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, GatewayIp),
        Frames.Udp6(ClientMac, GatewayMac, ClientIp6, RemotePodIp6, 5006, 6006),
    ];

    private static byte[][] UplinkFrames() =>
    [
        Frames.Udp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 6001, 5001),
        Frames.Tcp4(NodeBMac, UplinkMac, RemotePodIp, ClientIp, 41000, 8080, syn: true),
    ];

    /// <summary>The SLL header tcpdump writes for an Ethernet frame: packet type, ARPHRD_ETHER, the sender's MAC, the EtherType.</summary>
    private static byte[] Sll(byte[] ethernet, ushort packetType = 4)
    {
        var record = new byte[16 + ethernet.Length - 14];
        BinaryPrimitives.WriteUInt16BigEndian(record, packetType);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(4), 6);
        ethernet.AsSpan(6, 6).CopyTo(record.AsSpan(6));
        ethernet.AsSpan(12, 2).CopyTo(record.AsSpan(14));
        ethernet.AsSpan(14).CopyTo(record.AsSpan(16));
        return record;
    }

    /// <summary>The SLL2 header: EtherType, reserved, ifindex, ARPHRD, packet type, address length and address.</summary>
    private static byte[] Sll2(byte[] ethernet, ushort packetType = 4, int ifIndex = 7, bool withAddress = true)
    {
        var record = new byte[20 + ethernet.Length - 14];
        ethernet.AsSpan(12, 2).CopyTo(record);
        BinaryPrimitives.WriteInt32BigEndian(record.AsSpan(4), ifIndex);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(8), 1);
        record[10] = (byte)packetType;
        if (withAddress)
        {
            record[11] = 6;
            ethernet.AsSpan(6, 6).CopyTo(record.AsSpan(12));
        }

        ethernet.AsSpan(14).CopyTo(record.AsSpan(20));
        return record;
    }

    private static string ClassicPcap(TempDirectory dir, string name, uint linkType, IEnumerable<byte[]> records, int offsetMs = 0)
    {
        var bytes = new PcapBytes(nanoseconds: true, linkType: linkType);
        int i = 0;
        foreach (byte[] record in records)
        {
            long t = PipelineHarness.T0 + ((i++ * 10) + offsetMs) * Millisecond;
            bytes.Record((uint)(t / 1_000_000_000), (uint)(t % 1_000_000_000), record);
        }

        return bytes.WriteTo(dir.File(name));
    }

    /// <summary>Replays and returns every output pcap's frames by port, failing on any error.</summary>
    private static (Dictionary<string, List<(long, byte[])>> Outputs, ReplaySummary Summary) Replay(
        TempDirectory dir, string outName, ReplayInput[] inputs, Dictionary<string, string>? map = null)
    {
        string outDir = dir.File(outName);
        ReplaySummary? summary = ReplayRun.Run(Config(), inputs, map ?? [], outDir, 1, null, out string? error);
        Assert.True(summary is not null, error);
        return (Directory.GetFiles(outDir, "*.pcap").ToDictionary(static f => Path.GetFileNameWithoutExtension(f), ReplayFiles.ReadPcap), summary);
    }

    private static void AssertSameOutputs(Dictionary<string, List<(long, byte[])>> expected, Dictionary<string, List<(long, byte[])>> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach ((string port, List<(long, byte[])> frames) in expected)
        {
            Assert.Equal(frames.Count, actual[port].Count);
            for (int i = 0; i < frames.Count; i++)
            {
                Assert.Equal(frames[i].Item1, actual[port][i].Item1);
                Assert.Equal(Convert.ToHexString(frames[i].Item2), Convert.ToHexString(actual[port][i].Item2));
            }
        }
    }

    private static Dictionary<string, List<(long, byte[])>> EthernetBaseline(TempDirectory dir)
    {
        string client = ClassicPcap(dir, "eth-client.pcap", 1, ClientFrames());
        string uplink = ClassicPcap(dir, "eth-uplink.pcap", 1, UplinkFrames(), offsetMs: 5);
        (var outputs, ReplaySummary summary) = Replay(dir, "eth-out", [new("client", client), new("uplink", uplink)]);
        Assert.True(outputs.Count >= 3, $"the baseline should reach several ports: {string.Join(", ", outputs.Keys)}");
        Assert.Equal(ClientFrames().Length + UplinkFrames().Length, summary.FramesRead);
        return outputs;
    }

    [Fact]
    public void Sll_capture_replays_like_the_ethernet_capture_it_was_taken_from()
    {
        using var dir = new TempDirectory();
        var expected = EthernetBaseline(dir);
        string client = ClassicPcap(dir, "sll-client.pcap", 113, ClientFrames().Select(f => Sll(f)));
        string uplink = ClassicPcap(dir, "sll-uplink.pcap", 113, UplinkFrames().Select(f => Sll(f, packetType: 0)), offsetMs: 5);

        (var actual, ReplaySummary summary) = Replay(dir, "sll-out", [new("client", client), new("uplink", uplink)]);

        AssertSameOutputs(expected, actual);
        Assert.Equal(default, summary.Skipped);
    }

    [Fact]
    public void Sll2_capture_replays_like_ethernet_and_synthesizes_what_the_cooked_header_lacks()
    {
        using var dir = new TempDirectory();
        var expected = EthernetBaseline(dir);
        // Half the client records carry no link-layer address (as from a tun device): the pod's own MAC stands in.
        byte[][] client = [.. ClientFrames().Select((f, i) => Sll2(f, withAddress: i % 2 == 0))];
        // An 802.2 LLC record (protocol below 0x0600) cannot become Ethernet II: skipped and counted.
        byte[] llc = Sll2(ClientFrames()[0]);
        BinaryPrimitives.WriteUInt16BigEndian(llc, 0x0004);
        string clientPcap = ClassicPcap(dir, "sll2-client.pcap", 276, [.. client, llc]);
        string uplinkPcap = ClassicPcap(dir, "sll2-uplink.pcap", 276, UplinkFrames().Select(f => Sll2(f, packetType: 0)), offsetMs: 5);

        (var actual, ReplaySummary summary) = Replay(dir, "sll2-out", [new("client", clientPcap), new("uplink", uplinkPcap)]);

        AssertSameOutputs(expected, actual);
        Assert.Equal(new ReplaySkipped(0, 1), summary.Skipped);
    }

    [Fact]
    public void Tcpdump_any_capture_of_several_interfaces_replays_each_interface_index_on_its_mapped_port()
    {
        using var dir = new TempDirectory();
        var expected = EthernetBaseline(dir);
        // One SLL2 file as `tcpdump -i any` writes it: client records from ifindex 7, uplink records from ifindex 9.
        var records = ClientFrames().Select((f, i) => (T: i * 10, R: Sll2(f, ifIndex: 7)))
            .Concat(UplinkFrames().Select((f, i) => (T: (i * 10) + 5, R: Sll2(f, packetType: 0, ifIndex: 9))))
            .OrderBy(static r => r.T).ToList();
        var bytes = new PcapBytes(nanoseconds: true, linkType: 276);
        foreach ((int t, byte[] record) in records)
        {
            long ns = PipelineHarness.T0 + t * Millisecond;
            bytes.Record((uint)(ns / 1_000_000_000), (uint)(ns % 1_000_000_000), record);
        }

        string pcap = bytes.WriteTo(dir.File("any.pcap"));
        // Wireshark reads the hand-made SLL2 header as tcpdump's: interface index and addresses where expected.
        (int exit, string fields, string stderr) = ReplayFiles.RunTshark("-r", pcap, "-T", "fields", "-E", "separator=,", "-e", "sll.ifindex", "-e", "ip.src");
        Assert.True(exit == 0, stderr);
        Assert.Equal($"7,{ClientIp}", fields.Split('\n')[0]);
        Assert.Equal($"9,{RemotePodIp}", fields.Split('\n')[1]);

        (var actual, ReplaySummary summary) = Replay(dir, "any-out", [new(null, pcap)], new() { ["7"] = "client", ["9"] = "uplink" });

        AssertSameOutputs(expected, actual);
        Assert.Equal(default, summary.Skipped);
    }

    [Fact]
    public void Sll2_broadcast_arp_request_gets_a_broadcast_destination_and_is_answered()
    {
        using var dir = new TempDirectory();
        string pcap = ClassicPcap(dir, "arp.pcap", 276, [Sll2(Frames.ArpRequest(ClientMac, ClientIp, GatewayIp), packetType: 1)]);

        (var outputs, _) = Replay(dir, "out", [new("client", pcap)]);

        var reply = Frames.Parse(Assert.Single(outputs["client"]).Item2);
        Assert.Equal(PacketDotNet.EthernetType.Arp, reply.Type);
        Assert.Equal(Frames.Mac(ClientMac), reply.DestinationHardwareAddress);
    }

    [Fact]
    public void Pcapng_with_several_interfaces_of_different_link_types_replays_each_on_its_mapped_port()
    {
        using var dir = new TempDirectory();
        var expected = EthernetBaseline(dir);
        var ng = new PcapNgBytes().Interface(1, "eth0").Interface(276, "any").Interface(1, "lo");
        // Interleaved by time as one capture would be; lo carries one more client frame.
        byte[][] client = ClientFrames(), uplink = UplinkFrames();
        for (int i = 0; i < client.Length; i++)
        {
            ng.Packet(0, PipelineHarness.T0 + i * 10 * Millisecond, client[i]);
            if (i < uplink.Length)
            {
                ng.Packet(1, PipelineHarness.T0 + ((i * 10) + 5) * Millisecond, Sll2(uplink[i], packetType: 0));
            }
        }

        ng.Packet(2, PipelineHarness.T0 + 1000 * Millisecond, client[0]);
        string pcapng = ng.WriteTo(dir.File("node.pcapng"));
        (int exit, string names, string stderr) = ReplayFiles.RunTshark("-r", pcapng, "-T", "fields", "-e", "frame.interface_name");
        Assert.True(exit == 0, stderr);
        Assert.Equal("eth0,any,eth0,any,eth0,eth0,eth0,lo", string.Join(',', names.Split('\n', StringSplitOptions.RemoveEmptyEntries)));

        (var actual, ReplaySummary summary) = Replay(dir, "ng-out", [new(null, pcapng)], new() { ["eth0"] = "client", ["any"] = "uplink", ["lo"] = "client" });
        Assert.Equal(client.Length + uplink.Length + 1, summary.FramesRead);

        (var secondRun, ReplaySummary second) = Replay(dir, "ng-out-2", [new("client", pcapng)], new() { ["any"] = "uplink" });
        Assert.Equal(client.Length + uplink.Length + 1, second.FramesRead);

        // The outputs are the Ethernet baseline's, plus lo's extra frame (to web-1).
        string[] ports = [.. expected.Keys];
        Assert.Equal(ports.Order(), actual.Keys.Order());
        Assert.Equal(expected["uplink"].Count, actual["uplink"].Count);
        Assert.Equal(expected["web-1"].Count + 1, actual["web-1"].Count);
        Assert.Equal(Convert.ToHexString(actual["web-1"][0].Item2), Convert.ToHexString(expected["web-1"][0].Item2));
        // The same file with eth0 and lo taking the file's own port: the same outputs.
        AssertSameOutputs(actual, secondRun);
    }

    [Fact]
    public void Pcapng_interface_without_a_port_is_an_error_naming_it_when_the_file_has_no_port()
    {
        using var dir = new TempDirectory();
        var ng = new PcapNgBytes().Interface(1, "eth0").Interface(1, "eth1")
            .Packet(0, PipelineHarness.T0, ClientFrames()[0]);
        string pcapng = ng.WriteTo(dir.File("two.pcapng"));

        ReplaySummary? summary = ReplayRun.Run(Config(), [new(null, pcapng)], new Dictionary<string, string> { ["eth0"] = "client" }, dir.File("out"), 1, null, out string? error);

        Assert.Null(summary);
        Assert.Equal($"--in {pcapng}: interface 1 'eth1' has no port: add --map eth1=PORT or give the file one with --in PORT=FILE", error);
    }

    [Fact]
    public void Records_beyond_the_snaplen_or_longer_than_their_original_length_are_replayed_and_counted()
    {
        using var dir = new TempDirectory();
        byte[] big = Frames.Udp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 5000, 6000, data: new byte[200]);
        byte[] small = Frames.Udp4(ClientMac, GatewayMac, ClientIp, Web1Ip, 5001, 6001);
        // snaplen 128: the 242-byte record is read cut to 128 bytes (libpcap does so), then dropped by ip4-input as
        // shorter than its total length; the small one claims an original length below its captured length.
        string pcap = new PcapBytes(snapLength: 128)
            .Record(1_767_225_600, 0, big)
            .Record(1_767_225_600, 10, small, originalLength: (uint)small.Length - 4)
            .WriteTo(dir.File("repair.pcap"));

        (var outputs, ReplaySummary summary) = Replay(dir, "out", [new("client", pcap)]);

        Assert.Equal(new PcapRepairs(1, 1), summary.Repaired);
        Assert.Equal(2, summary.FramesRead);
        Assert.Equal(small.Length, Assert.Single(outputs["web-1"]).Item2.Length);
        Assert.Equal(1, summary.Stats.Stages.Single(static s => s.Name == "ip4-input").Drops["total-length-beyond-frame"]);
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("out"), "summary.json")));
        JsonElement repaired = json.RootElement.GetProperty("repaired");
        Assert.Equal(1, repaired.GetProperty("truncatedToSnaplen").GetInt64());
        Assert.Equal(1, repaired.GetProperty("caplenOverLen").GetInt64());
    }

    public static TheoryData<string, string[], string> BadInvocations => new()
    {
        { "unknown port in --map", ["--in", "{ng}", "--map", "eth0=nope"], "--map eth0=nope: no port named 'nope' (ports: " },
        { "unknown interface in --map", ["--in", "{ng}", "--map", "eth0=client", "--map", "eth9=client"], "--map eth9=client: no input has an interface named 'eth9' (interfaces: eth0)" },
        { "unsupported link type", ["--in", "client={wifi}"], "linktype 105 (IEEE 802.11) is not supported; replay reads Ethernet, Linux SLL and SLL2" },
        { "malformed --map", ["--in", "{ng}", "--map", "eth0"], "--map eth0: expected IFACE=PORT" },
    };

    [Theory]
    [MemberData(nameof(BadInvocations))]
    public void Bad_replay_input_is_a_one_line_error_with_exit_code_1(string description, string[] arguments, string message)
    {
        using var dir = new TempDirectory();
        string config = dir.File("node.yaml");
        File.WriteAllText(config, Yaml(services: TestConfigs.OneBackendServices));
        string ng = new PcapNgBytes().Interface(1, "eth0").Packet(0, PipelineHarness.T0, ClientFrames()[0]).WriteTo(dir.File("in.pcapng"));
        string wifi = new PcapBytes(linkType: 105).Record(1, 0, PcapBytes.Frame(60, 0)).WriteTo(dir.File("wifi.pcap"));

        (int exit, string stdout, string stderr) = ReplayFiles.Cli(
            ["replay", "--config", config, "--out", dir.File("out"), .. arguments.Select(a => a.Replace("{ng}", ng).Replace("{wifi}", wifi))]);

        Assert.True(exit == 1, $"{description}: exit {exit}, stdout {stdout}, stderr {stderr}");
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
