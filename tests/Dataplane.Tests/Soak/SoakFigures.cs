using System.Globalization;
using System.Text;

namespace Dataplane.Tests.Soak;

/// <summary>What a <see cref="SoakRun"/> did and measured: the figures the test prints and checks.</summary>
public sealed class SoakFigures
{
    public TimeSpan Duration { get; set; }

    public int Rounds { get; set; }

    /// <summary>Daemon RSS right after start-up, after the warm-up round (the base), the highest sample, and at the end.</summary>
    public long RssStart { get; set; }

    public long RssBase { get; set; }

    public long RssPeak { get; set; }

    public long RssEnd { get; set; }

    /// <summary>Open descriptors of the daemon after the warm-up round, the highest sample, and once the churn is over.</summary>
    public int FdBase { get; set; }

    public int FdPeak { get; set; }

    public int FdEnd { get; set; }

    /// <summary>Conntrack entries before any traffic, the highest sample (taken right after each flood), and at the end.</summary>
    public int ConntrackBase { get; set; }

    public int ConntrackPeak { get; set; }

    public int ConntrackEnd { get; set; }

    public int PodsAdded { get; set; }

    public int PodsRemoved { get; set; }

    /// <summary>`ctl service apply` and `ctl service delete` calls, and node.yaml rewrites followed by SIGHUP.</summary>
    public int ServicesChanged { get; set; }

    public int TcpFlowsOpened { get; set; }

    public int UdpFlowsOpened { get; set; }

    public int Floods { get; set; }

    public int FloodPackets { get; set; }

    /// <summary>Flows that should have worked and did not (connect, greeting, echo or UDP answer), with why.</summary>
    public List<string> FlowFailures { get; } = [];

    /// <summary>Frames the workers could not read (`ctl status`'s readErrors, end of run).</summary>
    public long ReadErrors { get; set; }

    /// <summary>Frames the daemon could not write to a port, summed over ports (end of run).</summary>
    public long TxErrors { get; set; }

    /// <summary>Every drop counter that is not zero at the end, as "stage/reason".</summary>
    public SortedDictionary<string, long> Drops { get; } = new(StringComparer.Ordinal);

    /// <summary>Lines the daemon logged at error or critical level.</summary>
    public List<string> ErrorLogLines { get; } = [];

    public override string ToString()
    {
        var text = new StringBuilder();
        Line(text, $"soak: {Duration.TotalSeconds:0} s, {Rounds} rounds");
        Line(text, $"rss: start {Mib(RssStart)}, base {Mib(RssBase)}, peak {Mib(RssPeak)}, end {Mib(RssEnd)} (end - base {Mib(RssEnd - RssBase)})");
        Line(text, $"fds: base {FdBase}, peak {FdPeak}, end {FdEnd}");
        Line(text, $"conntrack: base {ConntrackBase}, peak {ConntrackPeak}, end {ConntrackEnd}");
        Line(text, $"pods: added {PodsAdded}, removed {PodsRemoved}");
        Line(text, $"services changed: {ServicesChanged}");
        Line(text, $"flows opened: {TcpFlowsOpened} tcp, {UdpFlowsOpened} udp; failed {FlowFailures.Count}");
        Line(text, $"floods: {Floods}, {FloodPackets} packets");
        Line(text, $"errors: read {ReadErrors}, tx {TxErrors}, error log lines {ErrorLogLines.Count}");
        Line(text, $"drops: {(Drops.Count == 0 ? "none" : string.Join(", ", Drops.Select(d => $"{d.Key} {d.Value}")))}");
        foreach (string failure in FlowFailures.Take(10))
        {
            Line(text, $"  flow failure: {failure}");
        }

        foreach (string line in ErrorLogLines.Take(10))
        {
            Line(text, $"  daemon: {line}");
        }

        return text.ToString();
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):0.0} MiB");

    private static void Line(StringBuilder text, FormattableString line) => text.AppendLine(FormattableString.Invariant(line));
}
