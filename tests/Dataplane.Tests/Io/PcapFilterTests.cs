using Dataplane.Io.Pcap;
using Dataplane.Pipeline;
using Dataplane.Tests.Pipeline;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Io;

/// <summary>`--filter`: pcap-filter expressions compiled by libpcap, matched without allocating, errors in libpcap's words.</summary>
[Trait("Category", "unit")]
public sealed class PcapFilterTests
{
    private static readonly byte[] s_web = Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Web2Ip, 40000, 80, syn: true);
    private static readonly byte[] s_dns = Frames.Udp4(ClientMac, GatewayMac, ClientIp, Vip, 5353, 53);
    private static readonly byte[] s_arp = Frames.ArpRequest(ClientMac, ClientIp, GatewayIp);

    [Theory]
    [InlineData("tcp port 80 and host 10.244.1.12", true, false, false)]
    [InlineData("udp dst port 53", false, true, false)]
    [InlineData("arp", false, false, true)]
    [InlineData("host 10.244.1.20", true, true, true)]
    [InlineData("ether src 02:00:0a:f4:01:14 and not arp", true, true, false)]
    [InlineData("tcp[tcpflags] & tcp-syn != 0", true, false, false)]
    public void Expression_matches_what_tcpdump_would(string expression, bool web, bool dns, bool arp)
    {
        Assert.True(PcapFilter.TryCompile(expression, out PcapFilter? filter, out string? error), error);
        using (filter)
        {
            Assert.Equal([web, dns, arp], new[] { filter.Matches(s_web), filter.Matches(s_dns), filter.Matches(s_arp) });
        }
    }

    [Fact]
    public void Matching_allocates_nothing()
    {
        Assert.True(PcapFilter.TryCompile("tcp port 80 and host 10.244.1.12", out PcapFilter? filter, out string? error), error);
        using (filter)
        {
            IFrameFilter asCore = filter;
            // Both verdicts warm, then three measured rounds: a per-call allocation shows in every round, a one-off of
            // the runtime's (tiered compilation replacing the method mid-run, seen once in a CI run: 7,272 bytes)
            // in one at most, so the least a round allocated is what matching costs.
            int matched = Match(asCore, 100_000);
            long least = long.MaxValue;
            for (int round = 0; round < 3; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                matched += Match(asCore, 100_000);
                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }

            Assert.Equal(0, least);
            Assert.Equal(4 * 50_000, matched);
        }
    }

    /// <summary>Alternates a matching and a non-matching frame; returns how many matched.</summary>
    private static int Match(IFrameFilter filter, int frames)
    {
        int matched = 0;
        for (int i = 0; i < frames; i++)
        {
            matched += filter.Matches(i % 2 == 0 ? s_web : s_dns) ? 1 : 0;
        }

        return matched;
    }

    [Theory]
    [InlineData("tcp prot 80", "filter 'tcp prot 80' does not compile: ")]
    [InlineData("host 10.244.1.999", "filter 'host 10.244.1.999' does not compile: ")]
    public void Expression_that_does_not_compile_is_reported_with_libpcaps_message(string expression, string start)
    {
        Assert.False(PcapFilter.TryCompile(expression, out _, out string? error));
        Assert.StartsWith(start, error);
        // libpcap's own explanation follows, e.g. "syntax error" or "invalid IPv4 address".
        Assert.True(error.Length > start.Length + 5, error);
        Assert.DoesNotContain("Exception", error);
    }

    [Fact]
    public void Tracer_armed_with_a_filter_traces_only_matching_packets()
    {
        var harness = new PipelineHarness();
        Assert.True(PcapFilter.TryCompile("udp port 5003", out PcapFilter? filter, out string? error), error);
        using (filter)
        {
            harness.Engine.Graph.Tracer.Arm(1, filter);

            harness.Send([.. Enumerable.Range(0, 6).Select(i => ("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, (ushort)(5000 + i), 6000), PipelineHarness.T0 + i))]);
            List<TracePacketInfo> packets = TraceFormatter.Packets(harness.Engine.Graph, harness.Dataplane.Ports);

            TracePacketInfo packet = Assert.Single(packets);
            Assert.Equal("client", packet.RxPort);
            Assert.Equal(PipelineHarness.T0 + 3, packet.TimestampNanoseconds);
            Assert.Contains(packet.Stages, s => s.Stage == "ip4-input" && s.Detail == "10.244.1.20:5003 > 10.244.2.12:6000 udp" && s.Verdict == "next" && s.Next == "source-guard");
            Assert.Equal(0, harness.Engine.Graph.Tracer.Remaining);
        }
    }
}
