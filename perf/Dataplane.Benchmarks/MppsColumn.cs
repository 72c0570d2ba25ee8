using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Dataplane.Benchmarks;

/// <summary>
/// Millions of packets per second on one core: 1000 / (ns per operation). Every benchmark here counts one
/// operation per packet (OperationsPerInvoke = packets per invocation), so this is the figure users compare
/// with a NIC's line rate (64-byte frames at 10 GbE are 14.88 Mpps).
/// </summary>
public sealed class MppsColumn : IColumn
{
    public string Id => nameof(MppsColumn);

    public string ColumnName => "Mpps/core";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Million packets per second on one core (1000 / ns per packet)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? nanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
        return nanoseconds is > 0 ? (1000.0 / nanoseconds.Value).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "-";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
