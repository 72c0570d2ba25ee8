using Dataplane.Protocol;

namespace Dataplane.Tests.Control;

/// <summary>Every numeric argument of a control request is range-checked, with one line naming it, its value and the range.</summary>
[Trait("Category", "unit")]
public sealed class ControlArgumentRangeTests
{
    public static TheoryData<ControlRequest, string> OutOfRange => new()
    {
        { new ControlRequest { Command = "trace", Seconds = 1e300 }, "seconds 1E+300 is out of range: it must be more than 0 and at most 3600" },
        { new ControlRequest { Command = "trace", Seconds = double.NaN }, "seconds NaN is out of range" },
        { new ControlRequest { Command = "trace", Seconds = double.PositiveInfinity }, "seconds Infinity is out of range" },
        { new ControlRequest { Command = "trace", Seconds = -1 }, "seconds -1 is out of range" },
        { new ControlRequest { Command = "trace", Seconds = 0 }, "seconds 0 is out of range" },
        { new ControlRequest { Command = "trace", Count = 0 }, "count 0 is out of range: it must be 1..1000" },
        { new ControlRequest { Command = "trace", Count = 1001 }, "count 1001 is out of range: it must be 1..1000" },
        { new ControlRequest { Command = "capture", Seconds = 86401 }, "seconds 86401 is out of range: it must be more than 0 and at most 86400" },
        { new ControlRequest { Command = "capture", Count = -1 }, "count -1 is out of range: it must be 1..2147483647" },
        { new ControlRequest { Command = "conntrack", Count = 0 }, "limit 0 is out of range: it must be 1..10000" },
        { new ControlRequest { Command = "conntrack", Count = 10_001 }, "limit 10001 is out of range: it must be 1..10000" },
        { new ControlRequest { Command = "conntrack", Port = 70000 }, "port 70000 is out of range: it must be 0..65535" },
        { new ControlRequest { Command = "conntrack", After = -1 }, "after -1 is out of range: it must be 0..2147483647" },
        { new ControlRequest { Command = "flows", Count = -5 }, "count -5 is out of range: it must be 1..10000" },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void An_out_of_range_number_is_one_line_naming_it_its_value_and_the_range(ControlRequest request, string expected)
    {
        string? problem = ControlArgumentRanges.Problem(request);

        Assert.NotNull(problem);
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', problem);
    }

    [Fact]
    public void Numbers_in_range_and_absent_ones_pass()
    {
        Assert.Null(ControlArgumentRanges.Problem(new ControlRequest { Command = "trace", Count = 1000, Seconds = 3600 }));
        Assert.Null(ControlArgumentRanges.Problem(new ControlRequest { Command = "trace", Seconds = 0.001 }));
        Assert.Null(ControlArgumentRanges.Problem(new ControlRequest { Command = "capture", Count = 1, Seconds = 86400 }));
        Assert.Null(ControlArgumentRanges.Problem(new ControlRequest { Command = "conntrack", Count = 10_000, Port = 0, After = 0 }));
        Assert.Null(ControlArgumentRanges.Problem(new ControlRequest { Command = "conntrack" }));
        Assert.Null(ControlArgumentRanges.Problem(new ControlRequest { Command = "status" }));
    }
}
