using Dataplane.Config;
using Dataplane.Model;

namespace Dataplane.Tests.Pipeline;

/// <summary>What the pipeline must do with a golden case's input frame.</summary>
internal abstract record Verdict;

/// <summary>
/// These frames, in this order, on these ports, byte for byte; <paramref name="Counted"/> names "stage/counter"
/// (events or drops) that must each have grown by exactly one, and no other drop counter may move.
/// </summary>
internal sealed record Output((string Port, byte[] Frame)[] Frames, string[] Counted) : Verdict
{
    public Output(params (string Port, byte[] Frame)[] frames)
        : this(frames, [])
    {
    }
}

/// <summary>No output, and exactly this one drop counter grew by one.</summary>
internal sealed record Dropped(string Stage, string Reason) : Verdict;

/// <summary>
/// One golden case, shaped like Katran's golden test fixtures: a description, the frames sent first
/// to set the scene (their output is not checked), the input port and frame, and the verdict.
/// </summary>
internal sealed record GoldenCase(string Port, Func<byte[]> Input, Func<Verdict> Expected)
{
    public Func<NodeConfig>? Config { get; init; }

    public (string Port, Func<byte[]> Frame)[] Before { get; init; } = [];

    public long Timestamp { get; init; } = PipelineHarness.T0;
}

internal static class Golden
{
    public static void Run(GoldenCase golden)
    {
        var harness = new PipelineHarness(golden.Config?.Invoke());
        foreach ((string port, Func<byte[]> frame) in golden.Before)
        {
            harness.Send(port, frame(), golden.Timestamp);
        }

        Dictionary<string, long> before = Counters(harness);
        byte[] input = golden.Input();
        List<Sent> sent = harness.Send(golden.Port, input, golden.Timestamp);
        Dictionary<string, long> after = Counters(harness);
        string[] grew = [.. after.Where(c => c.Value != before[c.Key]).Select(c => $"{c.Key}+{c.Value - before[c.Key]}").Order(StringComparer.Ordinal)];
        string[] dropsGrew = [.. grew.Where(static g => g.StartsWith("drop:", StringComparison.Ordinal)).Select(static g => g["drop:".Length..])];

        switch (golden.Expected())
        {
            case Dropped dropped:
                Assert.True(sent.Count == 0, $"expected a drop, got output: {string.Join("; ", sent)}");
                Assert.Equal([$"{dropped.Stage}/{dropped.Reason}+1"], dropsGrew);
                break;
            case Output output:
                Assert.True(
                    output.Frames.Select(static f => f.Port).SequenceEqual(sent.Select(static s => s.Port)),
                    $"expected output on [{string.Join(", ", output.Frames.Select(static f => f.Port))}], got [{string.Join(", ", sent.Select(static s => s.Port))}]; counters that moved: {string.Join(", ", grew)}");
                for (int i = 0; i < sent.Count; i++)
                {
                    FrameAssert.SameBytes(output.Frames[i].Frame, sent[i].Frame, $"frame {i} on {sent[i].Port}");
                    FrameAssert.ChecksumsValid(sent[i].Frame);
                }

                string[] expectedDrops = [.. output.Counted.Where(c => after.ContainsKey("drop:" + c)).Select(static c => c + "+1").Order(StringComparer.Ordinal)];
                Assert.Equal(expectedDrops, dropsGrew);
                foreach (string counter in output.Counted)
                {
                    string key = after.ContainsKey("drop:" + counter) ? "drop:" + counter : "event:" + counter;
                    Assert.True(after.ContainsKey(key), $"no counter {counter}");
                    Assert.True(after[key] - before[key] == 1, $"{counter} grew by {after[key] - before[key]}, expected 1");
                }

                break;
        }
    }

    /// <summary>Every drop and event counter of every stage, as "drop:stage/reason" and "event:stage/name".</summary>
    public static Dictionary<string, long> Counters(PipelineHarness harness)
    {
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var stage in harness.Engine.Stats().Stages)
        {
            foreach ((string name, long value) in stage.Drops)
            {
                counters[$"drop:{stage.Name}/{name}"] = value;
            }

            foreach ((string name, long value) in stage.Events)
            {
                counters[$"event:{stage.Name}/{name}"] = value;
            }
        }

        return counters;
    }
}
