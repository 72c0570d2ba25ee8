using Dataplane.Pipeline;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>`trace`: an armed tracer records each stage a packet passes and what it did; unarmed, it records nothing.</summary>
[Trait("Category", "unit")]
public sealed class TraceTests
{
    private static byte[] ToRemote(ushort port = 5000) => Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, port, 6000);

    /// <summary>The stage name each line of a formatted trace starts with.</summary>
    private static string[] Stages(string trace) => [.. trace.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Where(static l => l.StartsWith("  ", StringComparison.Ordinal))
        .Select(static l => l.Trim().Split(' ')[0])];

    [Fact]
    public void Traced_routed_packet_lists_every_stage_it_went_through_and_where_it_left()
    {
        var harness = new PipelineHarness();
        harness.Engine.Graph.Tracer.Arm(1);

        harness.Send("client", ToRemote());
        string trace = TraceFormatter.Format(harness.Engine.Graph, harness.Dataplane.Ports);

        string[] lines = trace.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("packet 0 from client at 1767225600.000000: 46 bytes", lines[0]);
        Assert.Equal(["ethernet-input", "ip4-input", "source-guard", "conntrack", "bridge", "ip4-lookup", "interface-output"], Stages(trace));
        Assert.Contains("-> ip4-input", lines[1]);
        Assert.Contains("02:00:0a:f4:01:14 > 02:00:00:00:01:01", lines[1]);
        Assert.Contains("10.244.1.20:5000 > 10.244.2.12:6000 udp", lines[2]);
        Assert.Contains("new flow", lines[4]);
        Assert.Contains("to the gateway MAC: routed", lines[5]);
        Assert.Contains("ttl-1, to port 0 dst-mac 02:00:00:00:77:11", lines[6]);
        Assert.Contains("(tx)", lines[7]);
        Assert.EndsWith("tx uplink", lines[7].TrimEnd());
    }

    [Fact]
    public void Traced_drop_names_the_stage_and_reason()
    {
        var harness = new PipelineHarness();
        harness.Engine.Graph.Tracer.Arm(1);

        harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, Web1Ip, RemotePodIp, 5000, 6000));
        string trace = TraceFormatter.Format(harness.Engine.Graph, harness.Dataplane.Ports);

        Assert.Equal(["ethernet-input", "ip4-input", "source-guard"], Stages(trace));
        Assert.Contains("DROP spoofed-ip4", trace.Split('\n').Single(static l => l.TrimStart().StartsWith("source-guard", StringComparison.Ordinal)));
    }

    [Fact]
    public void Traced_ttl_expiry_shows_the_icmp_error_sent_back()
    {
        var harness = new PipelineHarness();
        harness.Engine.Graph.Tracer.Arm(1);

        harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5000, 6000, ttl: 1));
        string trace = TraceFormatter.Format(harness.Engine.Graph, harness.Dataplane.Ports);

        Assert.Equal(["ethernet-input", "ip4-input", "source-guard", "conntrack", "bridge", "ip4-lookup", "icmp-error", "interface-output"], Stages(trace));
        Assert.Contains("icmp type 11 code 0", trace);
        Assert.Contains("sent type 11 code 0", trace);
        Assert.Contains("tx client", trace);
    }

    [Fact]
    public void Arming_n_traces_only_the_next_n_packets()
    {
        var harness = new PipelineHarness();
        harness.Engine.Graph.Tracer.Arm(2);

        harness.Send([.. Enumerable.Range(0, 5).Select(i => ("client", ToRemote((ushort)(5000 + i)), PipelineHarness.T0 + i))]);
        string trace = TraceFormatter.Format(harness.Engine.Graph, harness.Dataplane.Ports);

        Assert.Equal(0, harness.Engine.Graph.Tracer.Remaining);
        Assert.Equal(14, harness.Engine.Graph.Tracer.Records().Count());

        // The two traced packets were in one batch, their records interleaved stage by stage; each still reads as one story.
        string[] lines = trace.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(16, lines.Length);
        Assert.StartsWith("packet 0 from client", lines[0]);
        Assert.StartsWith("packet 1 from client", lines[8]);
        string[] route = ["ethernet-input", "ip4-input", "source-guard", "conntrack", "bridge", "ip4-lookup", "interface-output"];
        Assert.Equal(route, Stages(string.Join('\n', lines[1..8])));
        Assert.Equal(route, Stages(string.Join('\n', lines[9..])));
    }

    [Fact]
    public void Without_tracing_armed_no_records_are_written()
    {
        var harness = new PipelineHarness();

        harness.Send([.. Enumerable.Range(0, 20).Select(i => ("client", ToRemote((ushort)(5000 + i)), PipelineHarness.T0 + i))]);
        harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, 5000, 6000, ttl: 1));

        Assert.Empty(harness.Engine.Graph.Tracer.Records());
        Assert.Equal("", TraceFormatter.Format(harness.Engine.Graph, harness.Dataplane.Ports));
        Assert.Equal(21, harness.Stage("ethernet-input").Packets);
    }
}
