using System.Text.Json;
using YamlDotNet.Serialization;

namespace Dataplane.Cli.Commands;

/// <summary>`ctl -o`: kubectl's output formats.</summary>
internal enum CtlFormat
{
    Json,
    Yaml,
    Wide,
}

/// <summary>Human-readable tables for `dataplane ctl` responses (-o json or yaml for the data itself).</summary>
internal static class CtlOutput
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    /// <summary>The response in the asked format; a table (<paramref name="format"/> null or wide) otherwise.</summary>
    public static void Write(string command, JsonElement result, CtlFormat? format, TextWriter output)
    {
        switch (format)
        {
            case CtlFormat.Json:
                output.WriteLine(JsonSerializer.Serialize(result, s_indented));
                break;
            case CtlFormat.Yaml:
                output.Write(Yaml(result));
                break;
            default:
                Print(command, result, output, wide: format == CtlFormat.Wide);
                break;
        }
    }

    /// <summary>One flow event of `flows --follow`: a line like conntrack -E, one compact JSON object, or one YAML document.</summary>
    public static void WriteFlowEvent(JsonElement e, CtlFormat? format, TextWriter output)
    {
        switch (format)
        {
            case CtlFormat.Json:
                output.WriteLine(JsonSerializer.Serialize(e));
                break;
            case CtlFormat.Yaml:
                output.Write("---\n" + Yaml(e));
                break;
            default:
                JsonElement f = e.GetProperty("flow");
                string kind = S(e, "event") == "new" ? "[NEW]" : "[END]";
                string time = format == CtlFormat.Wide ? e.GetProperty("time").GetDateTimeOffset().UtcDateTime.ToString("HH:mm:ss.fff ", System.Globalization.CultureInfo.InvariantCulture) : "";
                output.WriteLine($"{time}{kind,-5} {FlowLine(f, wide: format == CtlFormat.Wide)}");
                break;
        }
    }

    /// <summary>YAML of a JSON value (YamlDotNet), keys in the daemon's order.</summary>
    public static string Yaml(JsonElement value) => new SerializerBuilder().Build().Serialize(Plain(value));

    private static object? Plain(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(static p => p.Name, static p => Plain(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().Select(Plain).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static string FlowLine(JsonElement f, bool wide)
    {
        string backend = f.GetProperty("backend").ValueKind == JsonValueKind.Null ? "" : $" -> {S(f, "backend")}:{L(f, "backendPort")}";
        string snat = wide && f.GetProperty("snat").ValueKind != JsonValueKind.Null ? $" snat {S(f, "snat")}" : "";
        return $"{S(f, "protocol"),-6} {S(f, "source")}:{L(f, "sourcePort")} > {S(f, "destination")}:{L(f, "destinationPort")}{backend}{snat}  {S(f, "state")}{Counts(f)}";
    }

    /// <summary>The flow's counts per direction as conntrack -E prints them with nf_conntrack_acct; nothing when accounting is off.</summary>
    private static string Counts(JsonElement f)
        => f.TryGetProperty("originalPackets", out JsonElement packets) && packets.ValueKind == JsonValueKind.Number
            ? $"  packets={packets.GetInt64()} bytes={L(f, "originalBytes")} | packets={L(f, "replyPackets")} bytes={L(f, "replyBytes")}"
            : "";

    public static void Print(string command, JsonElement result, TextWriter output, bool wide = false)
    {
        switch (command)
        {
            case "ports":
                output.WriteLine($"{"port",-14} {"kind",-7} {"rx pkts",10} {"rx bytes",12} {"tx pkts",10} {"tx bytes",12} {"tx errors",9}{(wide ? $" {"rx drops",9}" : "")}");
                foreach (JsonElement p in result.EnumerateArray())
                {
                    output.WriteLine($"{S(p, "name"),-14} {S(p, "kind"),-7} {L(p, "rxPackets"),10} {L(p, "rxBytes"),12} {L(p, "txPackets"),10} {L(p, "txBytes"),12} {L(p, "txErrors"),9}{(wide ? $" {L(p, "rxDrops"),9}" : "")}");
                }

                break;
            case "stats":
                output.WriteLine($"{L(result, "packets")} packets received, {L(result, "drops")} dropped, {L(result, "batches")} batches");
                foreach (JsonElement stage in result.GetProperty("stages").EnumerateArray())
                {
                    IEnumerable<string> notes = stage.GetProperty("drops").EnumerateObject().Where(static d => d.Value.GetInt64() > 0).Select(static d => $"drop {d.Name} {d.Value}")
                        .Concat(stage.GetProperty("events").EnumerateObject().Where(static e => e.Value.GetInt64() > 0).Select(static e => $"{e.Name} {e.Value}"));
                    string bytes = wide ? $" {L(stage, "bytes"),14}" : "";
                    output.WriteLine($"  {S(stage, "name"),-17} {L(stage, "packets"),10}{bytes}  {string.Join(", ", notes)}".TrimEnd());
                }

                break;
            case "services":
                foreach (JsonElement s in result.EnumerateArray())
                {
                    string entrance = S(s, "entrance") == "ClusterIp" ? "" : $" {S(s, "entrance")}, policy {S(s, "policy")}{(s.GetProperty("snatToNode").GetBoolean() ? ", client SNAT to node" : "")},";
                    string ranges = s.GetProperty("sourceRanges").GetArrayLength() == 0 ? "" : $", from {string.Join(" ", s.GetProperty("sourceRanges").EnumerateArray().Select(static r => r.GetString()))}";
                    output.WriteLine($"{S(s, "service")}/{S(s, "port")} {S(s, "protocol")} {S(s, "vip")}:{L(s, "servicePort")} ({entrance.TrimStart()}{(entrance.Length > 0 ? " " : "")}{S(s, "scheduler")}, affinity {S(s, "affinity")}{ranges})");
                    foreach (JsonElement b in s.GetProperty("backends").EnumerateArray())
                    {
                        output.WriteLine($"    -> {S(b, "ip")}:{L(b, "port")} weight {L(b, "weight")}{(b.GetProperty("terminating").GetBoolean() ? " terminating" : "")}, {L(b, "openConnections")} open");
                    }

                    if (wide)
                    {
                        output.WriteLine($"    counters: {string.Join(", ", s.GetProperty("counters").EnumerateObject().Select(static c => $"{c.Name} {c.Value}"))}");
                    }
                }

                break;
            case "conntrack":
                output.WriteLine($"{L(result, "matched")} of {L(result, "total")} flows match{(L(result, "removed") > 0 ? $"; {L(result, "removed")} removed" : "")}");
                foreach (JsonElement f in result.GetProperty("flows").EnumerateArray())
                {
                    output.WriteLine($"  {FlowLine(f, wide)}  expires in {f.GetProperty("expiresInSeconds").GetDouble()}s");
                }

                if (result.TryGetProperty("next", out JsonElement next) && next.ValueKind == JsonValueKind.Number)
                {
                    output.WriteLine($"more flows: continue with --after {next.GetInt32()}");
                }

                break;
            case "flows":
                foreach (JsonElement f in result.EnumerateArray())
                {
                    output.WriteLine($"{FlowLine(f, wide)}  expires in {f.GetProperty("expiresInSeconds").GetDouble()}s");
                }

                break;
            case "metrics":
                output.Write(result.GetProperty("body").GetString());
                break;
            case "health":
                foreach ((string name, string path) in (ReadOnlySpan<(string, string)>)[("live", "/healthz"), ("ready", "/readyz")])
                {
                    JsonElement check = result.GetProperty(name);
                    output.WriteLine($"{path} {L(check, "status")}: {S(check, "body").TrimEnd().Replace("\n", "; ", StringComparison.Ordinal)}");
                }

                break;
            case "trace":
                output.Write(S(result, "text"));
                output.WriteLine($"{L(result, "traced")} packet(s) traced");
                break;
            case "pod-list":
                output.WriteLine($"{"pod",-24} {"port",4} {"source",-7} {"addresses",-34} {"mac",-17} {"worker",6}{(wide ? $" {"namespace",-36} {"container",-12}" : "")}");
                foreach (JsonElement p in result.EnumerateArray())
                {
                    output.WriteLine(PodLine(p, wide));
                }

                break;
            case "pod-add" or "pod-show":
                output.WriteLine($"pod {S(result, "name")}: port {L(result, "port")}, {S(result, "ifName")} in {S(result, "netns")}, {Addresses(result)}, MAC {S(result, "mac")}, MTU {L(result, "mtu")}, worker {L(result, "worker")} ({S(result, "source")})");
                break;
            case "pod-del":
                output.WriteLine(result.GetProperty("removed").GetBoolean()
                    ? $"pod {S(result, "name")} removed, {L(result, "flowsFlushed")} flow(s) flushed"
                    : "no such pod: nothing to remove");
                break;
            case "service-apply":
                foreach (JsonElement line in result.EnumerateArray())
                {
                    output.WriteLine(line.GetString());
                }

                break;
            default:
                output.WriteLine(result.ValueKind == JsonValueKind.String ? result.GetString() : JsonSerializer.Serialize(result, s_indented));
                break;
        }
    }

    private static string Addresses(JsonElement pod) => string.Join(" ", pod.GetProperty("ips").EnumerateArray().Select(static a => S(a, "address")));

    private static string PodLine(JsonElement p, bool wide)
    {
        string container = p.TryGetProperty("containerId", out JsonElement id) && id.ValueKind == JsonValueKind.String ? id.GetString()![..Math.Min(12, id.GetString()!.Length)] : "-";
        return $"{S(p, "name"),-24} {L(p, "port"),4} {S(p, "source"),-7} {Addresses(p),-34} {S(p, "mac"),-17} {L(p, "worker"),6}{(wide ? $" {S(p, "netns"),-36} {container,-12}" : "")}";
    }

    /// <summary>`ctl capture`'s summary line (to stderr when the capture itself goes to stdout).</summary>
    public static void PrintCapture(JsonElement result, string target, TextWriter output)
    {
        string port = S(result, "port") == "all" ? "every port" : S(result, "port");
        string dropped = L(result, "dropped") > 0 ? $" ({L(result, "dropped")} not kept: writer behind)" : "";
        string stopped = result.TryGetProperty("stopped", out JsonElement s) && s.ValueKind == JsonValueKind.String ? $"; stopped early: {s.GetString()}" : "";
        output.WriteLine($"{L(result, "packets")} frames of {port} written to {target} as {S(result, "format")}{dropped}{stopped}");
    }

    /// <summary>`ctl trace -o json`: the structured packets (id, rx port, time, stages), not the text.</summary>
    private static string S(JsonElement e, string name) => e.GetProperty(name) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : e.GetProperty(name).ToString();

    private static long L(JsonElement e, string name) => e.GetProperty(name).GetInt64();
}
