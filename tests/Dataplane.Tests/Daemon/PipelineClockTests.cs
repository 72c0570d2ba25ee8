using Dataplane.Daemon;

namespace Dataplane.Tests.Daemon;

[Trait("Category", "unit")]
public class PipelineClockTests
{
    [Fact]
    public void Now_never_goes_back_and_converts_to_unix_time_by_a_fixed_offset()
    {
        long previous = PipelineClock.Now();
        for (int i = 0; i < 10_000; i++)
        {
            long now = PipelineClock.Now();
            Assert.True(now >= previous, $"{now} < {previous}");
            previous = now;
        }

        long unix = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
        long shown = PipelineClock.ToUnixNanoseconds(PipelineClock.Now());
        // Within a second of the wall clock (unless it was stepped since the offset was taken, not in a test run).
        Assert.InRange(shown, unix - 1_000_000_000L, unix + 1_000_000_000L);
        Assert.Equal(5_000_000_000L, PipelineClock.ToUnixNanoseconds(previous + 5_000_000_000L) - PipelineClock.ToUnixNanoseconds(previous));
    }
}
