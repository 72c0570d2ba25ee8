using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.SideBySide;

/// <summary>The run as Markdown (also what the console shows) and as JSON.</summary>
internal static class ReportWriter
{
    public static string Markdown(RunReport report, string? chart = null)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Side by side: kernel, TAP ceiling, dataplane ({report.Started:yyyy-MM-dd HH:mm} UTC)");
        md.AppendLine();
        if (chart is not null)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"![the table below as a chart]({chart})");
            md.AppendLine();
        }

        md.AppendLine("| path | TCP pod→pod Gbit/s | TCP pod→VIP Gbit/s | 64 B UDP Mpps received (offered) | TCP RTT p50 µs | TCP RTT p99 µs | connections/s |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (PathResult path in report.Paths)
        {
            string mark = path.HasVip ? "" : " †";
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {path.Title} | {F(path, Metric.TcpPodGbps, "0.00")} | {(path.HasVip ? F(path, Metric.TcpVipGbps, "0.00") : "–")} " +
                $"| {F(path, Metric.UdpMpps, "0.000")} ({F(path, Metric.UdpOfferedMpps, "0.000")}) " +
                $"| {F(path, Metric.LatencyP50Us, "0.0")}{mark} | {F(path, Metric.LatencyP99Us, "0.0")}{mark} | {F(path, Metric.ConnectionsPerSecond, "#,0")}{mark} |");
        }

        md.AppendLine();
        md.AppendLine("Outside the cluster: an external client (a namespace on the node's uplink) to a NodePort, and the client pod to a server outside.");
        md.AppendLine();
        md.AppendLine("| path | TCP ext→NodePort Gbit/s | NodePort RTT p50 / p99 µs | NodePort connections/s | TCP pod→outside Gbit/s | egress RTT p50 / p99 µs | egress connections/s |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (PathResult path in report.Paths.Where(static p => p.Samples.ContainsKey(Metric.NodePortTcpGbps) || p.Samples.ContainsKey(Metric.EgressTcpGbps)))
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {path.Title} | {F(path, Metric.NodePortTcpGbps, "0.00")} | {F(path, Metric.NodePortLatencyP50Us, "0.0")} / {F(path, Metric.NodePortLatencyP99Us, "0.0")} " +
                $"| {F(path, Metric.NodePortConnectionsPerSecond, "#,0")} | {F(path, Metric.EgressTcpGbps, "0.00")} " +
                $"| {F(path, Metric.EgressLatencyP50Us, "0.0")} / {F(path, Metric.EgressLatencyP99Us, "0.0")} | {F(path, Metric.EgressConnectionsPerSecond, "#,0")} |");
        }

        md.AppendLine();
        md.AppendLine("RTT and connections/s go through the VIP (a service port DNATed to the server pod), except † on the ceiling, which has no");
        md.AppendLine("service: there they go pod-to-pod, and its pod-to-pod TCP is the ceiling for both TCP columns.");
        md.AppendLine();
        IReadOnlyList<Ratio> ratios = report.Ratios();
        var columns = RunReport.DataplaneColumns.Where(c => ratios.Any(r => r.Dataplane == c.Key)).ToList();
        md.AppendLine(CultureInfo.InvariantCulture, $"| ratio | target | {string.Join(" | ", columns.Select(static c => c.Title))} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"|---|---|{string.Concat(columns.Select(static _ => "---:|"))}");
        foreach (IGrouping<string, Ratio> row in ratios.GroupBy(r => r.Name))
        {
            string Cell(string dataplane) => row.FirstOrDefault(r => r.Dataplane == dataplane) is { } r ? RatioCell(r) : "";
            md.AppendLine(CultureInfo.InvariantCulture, $"| {row.Key} | {row.First().Target} | {string.Join(" | ", columns.Select(c => Cell(c.Key)))} |");
        }

        md.AppendLine();
        md.AppendLine("\"ceiling\" is tapcopy with the same offload setting: vnet-hdr offloads for offloads on, none for offloads off.");
        md.AppendLine();
        md.AppendLine("## Machine and load");
        md.AppendLine();
        MachineInfo m = report.Machine;
        md.AppendLine(CultureInfo.InvariantCulture, $"- CPU: {m.Cpu}, {m.Cores} cores; kernel {m.Kernel}; {m.DotNet}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- {m.Iperf3}; {m.Sockperf}; {m.Trafgen}");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"- load average (1, 5, 15 min): {Load(report.LoadAtStart)} at start, {Load(report.LoadAtEnd)} at end, 1-min at most {report.LoadMax:0.00} during the run");
        if (report.LoadMax > m.Cores)
        {
            md.AppendLine("- **the machine was busy** (1-min load above its core count at some point): expect the figures to move between");
            md.AppendLine("  repeats by tens of percent; every sample is in the JSON");
        }

        md.AppendLine(CultureInfo.InvariantCulture,
            $"- {report.Seconds} s per measurement, median of {report.Repeat} interleaved repeat(s); {report.ConnectionThreads} connrate client threads; " +
            $"{(report.Finished - report.Started).TotalMinutes:0.0} min in all");
        md.AppendLine();
        md.AppendLine("## How each figure is made");
        md.AppendLine();
        md.AppendLine("- TCP: one iperf3 stream, client pod to the server pod (pod→pod) or to VIP:80 → server:5201 (pod→VIP); the first second is not counted.");
        md.AppendLine("- 64 B UDP: trafgen (one process) blasts 64-byte frames client→server pod-to-pod; the figure is packets per second counted at the");
        md.AppendLine("  server's eth0, in brackets what the client's eth0 was offered.");
        md.AppendLine("- RTT: sockperf TCP ping-pong, 14-byte messages, one in flight, via VIP:81 → server:11111.");
        md.AppendLine("- connections/s: native/connrate, each client thread connects, waits for the server's close, closes; via VIP:82 → server:8081.");
        md.AppendLine("- kernel: the pods' veths on a Linux bridge (their gateway) with br_netfilter, ip_forward=1, one iptables nat PREROUTING DNAT per");
        md.AppendLine("  service port (kube-proxy's iptables mode, minus its chains). ceiling: native/tapcopy, one read and one write per frame, nothing else.");
        md.AppendLine("  dataplane: `dataplane run` with both pods and the service; one worker. \"io uring\" is the same with `dataplane.io: uring`");
        md.AppendLine("  (native/libdpuring.so: multishot reads into a buffer pool and batched writes, one io_uring_enter per loop).");
        md.AppendLine("- outside: a namespace on the node's uplink veth (192.168.77.50, serving and connecting from 192.168.78.10, routed through it).");
        md.AppendLine("  NodePort = service port + 30000 on the node's 192.168.77.10, to the server pod. kernel: kube-proxy's rules (MARK 0x4000 and DNAT in");
        md.AppendLine("  PREROUTING, MASQUERADE of marked packets) and `-s 10.244.1.0/24 ! -d 10.244.0.0/16 -j MASQUERADE` for egress; dataplane:");
        md.AppendLine("  `type: NodePort` (externalTrafficPolicy: Cluster, client SNATed to the node) and masquerade on, the uplink a packet socket.");

        IEnumerable<string> errors = report.Paths.SelectMany(p => p.Errors.Select(e => $"- {p.Title}: {e}"));
        if (errors.Any())
        {
            md.AppendLine();
            md.AppendLine("## Measurements that failed");
            md.AppendLine();
            foreach (string error in errors)
            {
                md.AppendLine(error);
            }
        }

        return md.ToString();
    }

    public static string Json(RunReport report)
    {
        var json = new
        {
            started = report.Started,
            finished = report.Finished,
            machine = report.Machine,
            loadAverage = new { start = report.LoadAtStart, end = report.LoadAtEnd, max1Min = report.LoadMax },
            settings = new { secondsPerMeasurement = report.Seconds, repeat = report.Repeat, connectionThreads = report.ConnectionThreads },
            paths = report.Paths.Select(p => new
            {
                key = p.Key,
                title = p.Title,
                label = p.Label,
                throughVip = p.HasVip,
                median = Enum.GetValues<Metric>().ToDictionary(JsonName, p.Median),
                samples = p.Samples.ToDictionary(s => JsonName(s.Key), s => s.Value),
                errors = p.Errors,
            }),
            ratios = report.Ratios(),
        };
        return JsonSerializer.Serialize(json, new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "+" and "→" as they are: the file is for people too
        });
    }

    /// <summary>Reads back what <see cref="Json"/> wrote, so a report and chart can be redrawn without measuring again.</summary>
    public static RunReport FromJson(string text)
    {
        JsonNode json = JsonNode.Parse(text)!;
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
        JsonNode load = json["loadAverage"]!;
        JsonNode settings = json["settings"]!;
        List<PathResult> paths = [];
        foreach (JsonNode path in json["paths"]!.AsArray()!)
        {
            string title = path["title"]!.GetValue<string>();
            var result = new PathResult(path["key"]!.GetValue<string>(), title,
                path["label"]?.GetValue<string>() ?? title.Replace(": ", "\n"), path["throughVip"]!.GetValue<bool>());
            foreach (Metric metric in Enum.GetValues<Metric>())
            {
                foreach (JsonNode? sample in path["samples"]![JsonName(metric)]?.AsArray() ?? [])
                {
                    result.Add(metric, sample!.GetValue<double>());
                }
            }

            result.Errors.AddRange(path["errors"]!.AsArray().Select(e => e!.GetValue<string>()));
            paths.Add(result);
        }

        return new RunReport(json["started"]!.GetValue<DateTime>(), json["finished"]!.GetValue<DateTime>(),
            json["machine"].Deserialize<MachineInfo>(options)!, load["start"].Deserialize<double[]>()!, load["end"].Deserialize<double[]>()!,
            load["max1Min"]!.GetValue<double>(), settings["secondsPerMeasurement"]!.GetValue<int>(), settings["repeat"]!.GetValue<int>(),
            settings["connectionThreads"]!.GetValue<int>(), paths);
    }

    private static string JsonName(Metric metric) => JsonNamingPolicy.CamelCase.ConvertName(metric.ToString());

    private static string F(PathResult path, Metric metric, string format) =>
        path.Median(metric) is { } value ? value.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    private static string RatioCell(Ratio ratio) => ratio.Value switch
    {
        null => "n/a",
        double v when ratio.Met is true => $"{v.ToString("0.000", CultureInfo.InvariantCulture)} met",
        double v when ratio.Met is false => $"**{v.ToString("0.000", CultureInfo.InvariantCulture)} missed**",
        double v => v.ToString("0.000", CultureInfo.InvariantCulture),
    };

    private static string Load(double[] load) => string.Join(" ", load.Select(l => l.ToString("0.00", CultureInfo.InvariantCulture)));
}
