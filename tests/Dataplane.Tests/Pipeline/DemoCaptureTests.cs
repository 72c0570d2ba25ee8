using System.Text;
using Dataplane.Config;
using Dataplane.Model;
using Dataplane.Replay;
using Dataplane.Tests.Io;
using PacketDotNet;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// The demo's captures (examples/demo/&lt;port&gt;.pcap, embedded in the CLI for `dataplane demo`) are built here
/// from code, so they never drift: the committed files must be byte-identical to what <see cref="Story"/>
/// builds (set DATAPLANE_REGENERATE_EXAMPLES=1 to rewrite them), and replaying them must play the story out.
/// </summary>
[Trait("Category", "replay")]
public sealed class DemoCaptureTests
{
    private const long T0 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
    private const long Ms = 1_000_000;
    private const string RegenerateVariable = "DATAPLANE_REGENERATE_EXAMPLES";

    private const string GatewayMac = "02:00:00:00:01:01";
    private const string GatewayIp = "10.244.1.1";
    private const string UplinkMac = "02:00:00:00:77:10";
    private const string NodeBMac = "02:00:00:00:77:11";
    private const string Web1Mac = "02:00:0a:f4:01:0b";
    private const string Web1Ip = "10.244.1.11";
    private const string Web2Mac = "02:00:0a:f4:01:0c";
    private const string ClientMac = "02:00:0a:f4:01:14";
    private const string ClientIp = "10.244.1.20";
    private const string RemotePodIp = "10.244.2.12";
    private const string Vip = "10.96.0.10";
    private const ushort ClientTcpPort = 40000;
    private const ushort ClientDnsPort = 33333;

    private static readonly byte[] s_httpRequest = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: web\r\n\r\n");
    private static readonly byte[] s_httpResponse = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhi\n");

    /// <summary>One frame of the story: the port it arrives on, when, and what it is.</summary>
    private sealed record Step(string Port, long At, byte[] Frame);

    private static string DemoDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dataplane.sln")))
            {
                return Path.Combine(dir.FullName, "examples", "demo");
            }
        }

        throw new InvalidOperationException($"no Dataplane.sln above {AppContext.BaseDirectory}");
    }

    private static NodeConfig DemoConfig() => NodeConfigLoader.Load(Path.Combine(DemoDirectory(), "node.yaml")).ThrowIfInvalid();

    /// <summary>A DNS query for web.default.svc.cluster.local A (RFC 1035 §4.1), or its answer 10.96.0.10.</summary>
    private static byte[] Dns(bool answer)
    {
        var message = new List<byte> { 0x1d, 0xe5, answer ? (byte)0x81 : (byte)0x01, answer ? (byte)0x80 : (byte)0x00, 0, 1, 0, answer ? (byte)1 : (byte)0, 0, 0, 0, 0 };
        foreach (string label in "web.default.svc.cluster.local".Split('.'))
        {
            message.Add((byte)label.Length);
            message.AddRange(Encoding.ASCII.GetBytes(label));
        }

        message.AddRange([0, 0, 1, 0, 1]);
        if (answer)
        {
            message.AddRange([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 0, 10]);
        }

        return [.. message];
    }

    private static byte[] Syn() => Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientTcpPort, 80, syn: true, seq: 1000);

    private static byte[] DnsQuery() => Frames.Udp4(ClientMac, GatewayMac, ClientIp, Vip, ClientDnsPort, 53, Dns(answer: false));

    /// <summary>The backends Maglev picks for the story's TCP connection and DNS query: found by running the pipeline.</summary>
    private static (string Tcp, string Dns) Backends(NodeConfig config)
    {
        var harness = new PipelineHarness(config);
        string tcp = ((IPv4Packet)Frames.Parse(Assert.Single(harness.Send("client", Syn())).Frame).PayloadPacket).DestinationAddress.ToString();
        string dns = ((IPv4Packet)Frames.Parse(Assert.Single(harness.Send("client", DnsQuery())).Frame).PayloadPacket).DestinationAddress.ToString();
        Assert.Contains(tcp, new[] { Web1Ip, RemotePodIp });
        Assert.Contains(dns, new[] { Web1Ip, RemotePodIp });
        return (tcp, dns);
    }

    /// <summary>A frame a backend sends back to the client: web-1 straight to the client's MAC, node-b's pod through the uplink.</summary>
    private static (string Port, byte[] Frame) FromBackend(string backend, Func<string, string, string, byte[]> build) => backend == Web1Ip
        ? ("web-1", build(Web1Mac, ClientMac, Web1Ip))
        : ("uplink", build(NodeBMac, UplinkMac, RemotePodIp));

    /// <summary>The demo, in time order.</summary>
    private static List<Step> Story(NodeConfig config)
    {
        (string tcpBackend, string dnsBackend) = Backends(config);
        var story = new List<Step>();
        void At(long ms, string port, byte[] frame) => story.Add(new Step(port, T0 + (ms * Ms), frame));
        void Backend(long ms, string backend, Func<string, string, string, byte[]> build)
        {
            (string port, byte[] frame) = FromBackend(backend, build);
            At(ms, port, frame);
        }

        // The client finds its gateway and pings it.
        At(0, "client", Frames.ArpRequest(ClientMac, ClientIp, GatewayIp));
        At(10, "client", Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, GatewayIp, id: 0x0d0e, seq: 1));

        // The client finds web-1 (the request is flooded) and pings it across the bridge.
        At(100, "client", Frames.ArpRequest(ClientMac, ClientIp, Web1Ip));
        At(110, "web-1", Frames.ArpReply(Web1Mac, Web1Ip, ClientMac, ClientIp));
        At(120, "client", Frames.Icmp4Echo(ClientMac, Web1Mac, ClientIp, Web1Ip, id: 0x0d0e, seq: 2));
        At(130, "web-1", Frames.Icmp4Echo(Web1Mac, ClientMac, Web1Ip, ClientIp, id: 0x0d0e, seq: 2, reply: true));

        // An HTTP request to the service VIP: handshake, request, response, close.
        At(200, "client", Syn());
        Backend(210, tcpBackend, (src, dst, ip) => Frames.Tcp4(src, dst, ip, ClientIp, 8080, ClientTcpPort, syn: true, ack: true, seq: 5000, ackNumber: 1001));
        At(220, "client", Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientTcpPort, 80, ack: true, seq: 1001, ackNumber: 5001));
        At(230, "client", Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientTcpPort, 80, ack: true, seq: 1001, ackNumber: 5001, data: s_httpRequest));
        Backend(240, tcpBackend, (src, dst, ip) => Frames.Tcp4(src, dst, ip, ClientIp, 8080, ClientTcpPort, ack: true, seq: 5001, ackNumber: 1001 + (uint)s_httpRequest.Length, data: s_httpResponse));
        uint clientFin = 1001 + (uint)s_httpRequest.Length;
        uint serverFin = 5001 + (uint)s_httpResponse.Length;
        At(250, "client", Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientTcpPort, 80, fin: true, ack: true, seq: clientFin, ackNumber: serverFin));
        Backend(260, tcpBackend, (src, dst, ip) => Frames.Tcp4(src, dst, ip, ClientIp, 8080, ClientTcpPort, fin: true, ack: true, seq: serverFin, ackNumber: clientFin + 1));
        At(270, "client", Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, ClientTcpPort, 80, ack: true, seq: clientFin + 1, ackNumber: serverFin + 1));

        // A DNS query to the service's UDP port and its answer.
        At(300, "client", DnsQuery());
        Backend(310, dnsBackend, (src, dst, ip) => Frames.Udp4(src, dst, ip, ClientIp, 5353, ClientDnsPort, Dns(answer: true)));

        // A ping to a pod on node-b, routed out the uplink, and node-b's reply.
        At(400, "client", Frames.Icmp4Echo(ClientMac, GatewayMac, ClientIp, RemotePodIp, id: 0x0d0e, seq: 3));
        At(410, "uplink", Frames.Icmp4Echo(NodeBMac, UplinkMac, RemotePodIp, ClientIp, id: 0x0d0e, seq: 3, ttl: 63, reply: true));

        // What the dataplane refuses or answers with an error.
        At(500, "web-2", Frames.Udp4(Web2Mac, GatewayMac, Web1Ip, RemotePodIp, 41000, 41001)); // web-2 claims web-1's address
        At(600, "client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 41000, 41001)[..30]); // cut inside the IPv4 header
        At(700, "client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 33434, 33434, ttl: 1)); // traceroute's first probe
        At(800, "client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, "10.99.0.1", 41000, 41001)); // nothing routes there
        return story;
    }

    /// <summary>Writes one capture per input port into <paramref name="directory"/>; returns their bytes by port.</summary>
    private static Dictionary<string, byte[]> WriteCaptures(List<Step> story, string directory)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (IGrouping<string, Step> port in story.GroupBy(static s => s.Port))
        {
            string path = Path.Combine(directory, port.Key + ".pcap");
            ReplayFiles.WritePcap(path, port.Select(static s => (s.At, s.Frame)));
            files[port.Key] = File.ReadAllBytes(path);
        }

        return files;
    }

    [Fact]
    public void Committed_demo_captures_are_exactly_what_the_generator_builds()
    {
        string demo = DemoDirectory();
        List<Step> story = Story(DemoConfig());
        Assert.Equal(story.OrderBy(static s => s.At).Select(static s => s.At), story.Select(static s => s.At));
        Assert.Equal(story.Count, story.Select(static s => s.At).Distinct().Count()); // no ties: the merge order is the story's

        if (Environment.GetEnvironmentVariable(RegenerateVariable) == "1")
        {
            foreach (string old in Directory.GetFiles(demo, "*.pcap"))
            {
                File.Delete(old);
            }

            Dictionary<string, byte[]> written = WriteCaptures(story, demo);
            Assert.Equal(written.Keys.Order(), Directory.GetFiles(demo, "*.pcap").Select(Path.GetFileNameWithoutExtension).Order()!);
            return;
        }

        using var temp = new TempDirectory();
        Dictionary<string, byte[]> built = WriteCaptures(story, temp.Path);
        Assert.Equal(["client", "uplink", "web-1", "web-2"], built.Keys.Order());
        Assert.Equal(built.Keys.Order(), Directory.GetFiles(demo, "*.pcap").Select(Path.GetFileNameWithoutExtension).Order()!);
        foreach ((string port, byte[] bytes) in built)
        {
            byte[] committed = File.ReadAllBytes(Path.Combine(demo, port + ".pcap"));
            Assert.True(
                bytes.AsSpan().SequenceEqual(committed),
                $"examples/demo/{port}.pcap is not what {nameof(DemoCaptureTests)} builds; if the change is intended, run the test with {RegenerateVariable}=1 and commit the files");
        }
    }

    [Fact]
    public void Replaying_the_demo_plays_out_the_story()
    {
        string demo = DemoDirectory();
        NodeConfig config = DemoConfig();
        (string tcpBackend, string dnsBackend) = Backends(config);
        using var temp = new TempDirectory();
        ReplayInput[] inputs = [.. Directory.GetFiles(demo, "*.pcap").Order(StringComparer.Ordinal).Select(static f => new ReplayInput(Path.GetFileNameWithoutExtension(f), f))];

        ReplaySummary? summary = ReplayRun.Run(config, inputs, temp.Path, batchSize: 1, trace: null, out string? error);

        Assert.Null(error);
        Assert.NotNull(summary);
        Dictionary<string, string[]> sent = summary.Outputs.ToDictionary(
            static o => o.Port,
            static o => ReplayFiles.ReadPcap(o.File).Select(static f => Describe(f.Frame)).ToArray());
        foreach (string file in Directory.GetFiles(temp.Path, "*.pcap"))
        {
            Assert.All(ReplayFiles.ReadPcap(file), static f => FrameAssert.ChecksumsValid(f.Frame));
        }

        string client = $"{ClientIp}:{ClientTcpPort}";
        Assert.Equal(
            [
                $"arp reply {GatewayIp} is-at {GatewayMac}",
                $"icmp echo-reply {GatewayIp} > {ClientIp}",
                $"arp reply {Web1Ip} is-at {Web1Mac}",
                $"icmp echo-reply {Web1Ip} > {ClientIp}",
                $"tcp {Vip}:80 > {client} SYN ACK",
                $"tcp {Vip}:80 > {client} ACK +{s_httpResponse.Length}",
                $"tcp {Vip}:80 > {client} FIN ACK",
                $"udp {Vip}:53 > {ClientIp}:{ClientDnsPort}",
                $"icmp echo-reply {RemotePodIp} > {ClientIp}",
                $"icmp time-exceeded {GatewayIp} > {ClientIp}",
                $"icmp net-unreachable {GatewayIp} > {ClientIp}",
            ],
            sent["client"]);

        // What the backends see: the VIP's traffic DNAT-ed to them.
        string toBackend = $"{ClientIp}:{ClientTcpPort} > {tcpBackend}:8080";
        string[] tcp = [$"tcp {toBackend} SYN", $"tcp {toBackend} ACK", $"tcp {toBackend} ACK +{s_httpRequest.Length}", $"tcp {toBackend} FIN ACK", $"tcp {toBackend} ACK"];
        string dns = $"udp {ClientIp}:{ClientDnsPort} > {dnsBackend}:5353";
        Assert.Equal(
            [
                $"arp request who-has {Web1Ip} tell {ClientIp}",
                $"icmp echo-request {ClientIp} > {Web1Ip}",
                .. tcpBackend == Web1Ip ? tcp : [],
                .. dnsBackend == Web1Ip ? [dns] : Array.Empty<string>(),
            ],
            sent["web-1"]);
        Assert.Equal([$"arp request who-has {Web1Ip} tell {ClientIp}"], sent["web-2"]);
        Assert.Equal(
            [
                .. tcpBackend == RemotePodIp ? tcp : [],
                .. dnsBackend == RemotePodIp ? [dns] : Array.Empty<string>(),
                $"icmp echo-request {ClientIp} > {RemotePodIp}",
            ],
            sent["uplink"]);

        // And the counters say the same.
        var stages = summary.Stats.Stages.ToDictionary(static s => s.Name);
        Assert.Equal(1, stages["arp"].Events["replies-sent"]);
        Assert.Equal(1, stages["ip-local"].Events["echo-replies"]);
        Assert.Equal(2, stages["conntrack"].Events["service-flows"]);
        Assert.Equal(2, stages["icmp-error"].Events["errors-sent"]);
        Assert.Equal(1, stages["bridge"].Events["flooded"]);
        Assert.Equal(
            ["ip4-input/truncated=1", "source-guard/spoofed-ip4=1"],
            summary.Stats.Stages.SelectMany(static s => s.Drops.Where(static d => d.Value > 0).Select(d => $"{s.Name}/{d.Key}={d.Value}")).Order());
    }

    [Fact]
    public void Demo_command_replays_the_embedded_captures_and_prints_the_table()
    {
        (int exit, string stdout, string stderr) = ReplayFiles.Cli("demo", "--offline", "--no-trace");

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        Assert.Contains("demo: node 'node-a' from examples/demo/node.yaml, replaying client.pcap, uplink.pcap, web-1.pcap, web-2.pcap", stdout);
        Assert.Contains($"node node-a: replayed {Story(DemoConfig()).Count} frames from 4 file(s)", stdout);
        Assert.Matches(@"\n\s+source-guard\s+\d+\s+drop spoofed-ip4 1", stdout);
        Assert.Matches(@"\n\s+icmp-error\s+2\s+errors-sent 2", stdout);
        Assert.Contains("2 dropped in all", stdout);
        Assert.DoesNotContain("packet 0 from", stdout);
    }

    [Fact]
    public void Demo_command_traces_every_packet_by_default()
    {
        (int exit, string stdout, string stderr) = ReplayFiles.Cli("demo", "--offline");

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        Assert.Equal(Story(DemoConfig()).Count, stdout.Split('\n').Count(static l => l.StartsWith("packet ", StringComparison.Ordinal)));
        Assert.Contains("packet 0 from client at 1767225600.000000: 42 bytes", stdout);
        Assert.Contains("DROP spoofed-ip4", stdout);
    }

    /// <summary>A one-line description of a frame, read with PacketDotNet, for comparing what ports sent with the story.</summary>
    private static string Describe(byte[] frame)
    {
        var eth = Frames.Parse(frame);
        switch (eth.PayloadPacket)
        {
            case ArpPacket arp when arp.Operation == ArpOperation.Request:
                return $"arp request who-has {arp.TargetProtocolAddress} tell {arp.SenderProtocolAddress}";
            case ArpPacket arp:
                return $"arp reply {arp.SenderProtocolAddress} is-at {Mac(arp.SenderHardwareAddress.GetAddressBytes())}";
            case IPv4Packet ip:
                string from = ip.SourceAddress.ToString(), to = ip.DestinationAddress.ToString();
                switch (ip.PayloadPacket)
                {
                    case TcpPacket tcp:
                        var flags = new List<string>();
                        if (tcp.Synchronize) { flags.Add("SYN"); }
                        if (tcp.Finished) { flags.Add("FIN"); }
                        if (tcp.Reset) { flags.Add("RST"); }
                        if (tcp.Acknowledgment) { flags.Add("ACK"); }
                        int data = tcp.PayloadData?.Length ?? 0;
                        return $"tcp {from}:{tcp.SourcePort} > {to}:{tcp.DestinationPort} {string.Join(' ', flags)}{(data > 0 ? $" +{data}" : "")}";
                    case UdpPacket udp:
                        return $"udp {from}:{udp.SourcePort} > {to}:{udp.DestinationPort}";
                    case IcmpV4Packet icmp:
                        string type = icmp.Bytes[0] switch
                        {
                            0 => "echo-reply",
                            8 => "echo-request",
                            11 => "time-exceeded",
                            3 when icmp.Bytes[1] == 0 => "net-unreachable",
                            3 => $"unreachable-{icmp.Bytes[1]}",
                            byte t => $"type-{t}",
                        };
                        return $"icmp {type} {from} > {to}";
                }

                return $"ip {from} > {to} proto {ip.Protocol}";
            default:
                return $"ethertype {eth.Type}";
        }
    }

    private static string Mac(byte[] bytes) => string.Join(':', bytes.Select(static b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
}
