using ScottPlot;

namespace Dataplane.SideBySide;

/// <summary>A 2x2 PNG: TCP Gbit/s, 64-byte Mpps, RTT and connections/s, one group of bars per path.</summary>
internal static class Chart
{
    private static readonly Color[] s_colors = [Colors.SteelBlue, Colors.DarkOrange];

    public static void Save(RunReport report, string file)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(4);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(2, 2);
        string run = $"{report.Started:yyyy-MM-dd HH:mm} UTC, {report.Machine.Cores} cores, 1-min load {report.LoadAtStart[0]:0.0} at start, up to {report.LoadMax:0.0}";
        const string NoVip = "the ceiling has no VIP: its figures are pod → pod";
        Panel(multiplot.GetPlot(0), report, "TCP throughput, one stream", "Gbit/s", run, [("pod → pod", Metric.TcpPodGbps), ("pod → VIP", Metric.TcpVipGbps)]);
        Panel(multiplot.GetPlot(1), report, "64-byte UDP frames received, pod → pod", "Mpps", "", [("received", Metric.UdpMpps)]);
        Panel(multiplot.GetPlot(2), report, "TCP request/response round trip via VIP (lower is better)", "µs", NoVip, [("p50", Metric.LatencyP50Us), ("p99", Metric.LatencyP99Us)]);
        Panel(multiplot.GetPlot(3), report, "New TCP connections via VIP", "per second", NoVip, [("connections", Metric.ConnectionsPerSecond)]);
        multiplot.SavePng(file, 1600, 1000);
    }

    private static void Panel(Plot plot, RunReport report, string title, string unit, string note, (string Label, Metric Metric)[] series)
    {
        int groupWidth = series.Length + 1;
        for (int s = 0; s < series.Length; s++)
        {
            var bars = new List<Bar>();
            for (int p = 0; p < report.Paths.Count; p++)
            {
                if (report.Paths[p].Median(series[s].Metric) is { } value)
                {
                    bars.Add(new Bar
                    {
                        Position = p * groupWidth + s,
                        Value = value,
                        FillColor = s_colors[s],
                        Label = Format(value),
                    });
                }
            }

            var plottable = plot.Add.Bars(bars);
            plottable.ValueLabelStyle.FontSize = 11;
            if (series.Length > 1)
            {
                plottable.LegendText = series[s].Label;
            }
        }

        double[] ticks = [.. report.Paths.Select((_, p) => p * groupWidth + (series.Length - 1) / 2.0)];
        plot.Axes.Bottom.SetTicks(ticks, [.. report.Paths.Select(p => p.Label)]);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Title(title);
        plot.YLabel(unit);
        plot.XLabel(note, size: 12);
        // Head room for the value labels and the legend above the tallest bar.
        plot.Axes.Margins(bottom: 0, top: 0.3);
        plot.Legend.Alignment = Alignment.UpperRight;
    }

    private static string Format(double value) => value switch
    {
        >= 1000 => value.ToString("#,0", System.Globalization.CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture),
    };
}
