using Dataplane.Pipeline;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// ICMP errors are rate-limited by a token bucket on the pipeline clock (dataplane.icmpErrorsPerSecond /
/// icmpErrorBurst), one per node: every worker's icmp-error draws on the same bucket.
/// </summary>
[Trait("Category", "unit")]
public sealed class IcmpErrorRateLimitTests
{
    private const long Millisecond = 1_000_000;

    private static PipelineHarness Harness() => new(TestConfigs.With("dataplane: { icmpErrorsPerSecond: 10, icmpErrorBurst: 3 }"));

    private static byte[] TtlOne(ushort sourcePort) => Frames.Udp4(ClientMac, GatewayMac, ClientIp, RemotePodIp, sourcePort, 6000, ttl: 1);

    private static List<Sent> SendBurst(PipelineHarness harness, int count, long timestamp)
        => harness.Send(Enumerable.Range(0, count).Select(i => ("client", TtlOne((ushort)(7000 + i)), timestamp)));

    [Fact]
    public void Errors_beyond_the_burst_at_one_instant_are_suppressed_and_counted()
    {
        var harness = Harness();

        List<Sent> sent = SendBurst(harness, 5, PipelineHarness.T0);

        Assert.Equal(3, sent.Count);
        Assert.All(sent, static s => Assert.Equal(11, Frames.Parse(s.Frame).PayloadPacket.PayloadPacket.Bytes[0]));
        Assert.Equal(3, harness.Event("icmp-error", "errors-sent"));
        Assert.Equal(2, harness.Drops("icmp-error", "rate-limited"));
    }

    [Fact]
    public void Tokens_refill_at_the_configured_rate_up_to_the_burst()
    {
        var harness = Harness();
        Assert.Equal(3, SendBurst(harness, 5, PipelineHarness.T0).Count);

        // 100 ms at 10 per second earns one token.
        Assert.Single(SendBurst(harness, 3, PipelineHarness.T0 + (100 * Millisecond)));
        Assert.Equal(4, harness.Drops("icmp-error", "rate-limited"));

        // 50 ms more earns half a token: nothing yet; another 50 ms completes it.
        Assert.Empty(SendBurst(harness, 1, PipelineHarness.T0 + (150 * Millisecond)));
        Assert.Single(SendBurst(harness, 2, PipelineHarness.T0 + (200 * Millisecond)));

        // Ten seconds earn 100 tokens, but the bucket holds 3.
        Assert.Equal(3, SendBurst(harness, 6, PipelineHarness.T0 + (10_000 * Millisecond)).Count);
        Assert.Equal(3 + 1 + 1 + 3, harness.Event("icmp-error", "errors-sent"));
        Assert.Equal(2 + 2 + 1 + 1 + 3, harness.Drops("icmp-error", "rate-limited"));
    }

    [Fact]
    public void Every_kind_of_error_draws_on_the_same_bucket()
    {
        var harness = Harness();
        Assert.Equal(3, SendBurst(harness, 3, PipelineHarness.T0).Count);

        Assert.Empty(harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, "10.99.0.1", 5000, 6000)));
        Assert.Empty(harness.Send("client", Frames.Udp4(ClientMac, GatewayMac, ClientIp, GatewayIp, 5000, 6000)));
        Assert.Equal(2, harness.Drops("icmp-error", "rate-limited"));
    }

    [Fact]
    public void Two_workers_share_the_nodes_budget()
    {
        var harness = Harness();
        NodeDataplane dataplane = harness.Dataplane;
        Graph second = dataplane.CreateGraph(new PacketBatch(8, harness.Engine.Batch.SlotSize));
        ushort client = harness.Engine.PortId("client");

        Assert.Equal(2, SendBurst(harness, 2, PipelineHarness.T0).Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(second.Batch.TryAdd(TtlOne((ushort)(8000 + i)), client, PipelineHarness.T0));
        }

        second.Run();

        // The burst is 3 for the node: the second worker gets the one token the first left.
        Assert.Equal(1, second.Batch.TransmitCount);
        Assert.Equal(2, PipelineStats.From([second], dataplane.Ports).Stages.Single(static s => s.Name == "icmp-error").Drops["rate-limited"]);
        Assert.Same(dataplane.IcmpErrorLimit, dataplane.IcmpErrorLimit);
    }

    [Fact]
    public void A_shared_bucket_never_hands_out_more_than_it_holds_under_contention()
    {
        var bucket = new TokenBucket(tokensPerSecond: 10, burst: 1000);
        int taken = 0;
        using var start = new Barrier(4);
        Thread[] threads = [.. Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < 10_000; i++)
            {
                // 99 ms in all: not enough to earn a token at 10 per second.
                if (bucket.TryTake(PipelineHarness.T0 + (i * 10_000L)))
                {
                    Interlocked.Increment(ref taken);
                }
            }
        }))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(TimeSpan.FromMinutes(1)));
        }

        Assert.Equal(1000, taken);
    }

    [Fact]
    public void A_bucket_with_rate_or_burst_zero_is_off()
    {
        Assert.False(new TokenBucket(0, 5).TryTake(PipelineHarness.T0));
        Assert.False(new TokenBucket(5, 0).TryTake(PipelineHarness.T0));
    }
}
