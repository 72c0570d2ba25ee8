using System.Text.Json;

namespace Dataplane.Cli.Commands;

/// <summary>Human-readable tables for `dataplane ctl` responses (use --json for the raw data).</summary>
internal static class CtlOutput
{
    public static void Print(string command, JsonElement result, TextWriter output)
    {
        switch (command)
        {
            case "ports":
                output.WriteLine($"{"port",-14} {"kind",-7} {"rx pkts",10} {"rx bytes",12} {"tx pkts",10} {"tx bytes",12} {"tx errors",9}");
                foreach (JsonElement p in result.EnumerateArray())
                {
                    output.WriteLine($"{S(p, "name"),-14} {S(p, "kind"),-7} {L(p, "rxPackets"),10} {L(p, "rxBytes"),12} {L(p, "txPackets"),10} {L(p, "txBytes"),12} {L(p, "txErrors"),9}");
                }

                break;
            case "stats":
                output.WriteLine($"{L(result, "packets")} packets received, {L(result, "drops")} dropped, {L(result, "batches")} batches");
                foreach (JsonElement stage in result.GetProperty("stages").EnumerateArray())
                {
                    IEnumerable<string> notes = stage.GetProperty("drops").EnumerateObject().Where(static d => d.Value.GetInt64() > 0).Select(static d => $"drop {d.Name} {d.Value}")
                        .Concat(stage.GetProperty("events").EnumerateObject().Where(static e => e.Value.GetInt64() > 0).Select(static e => $"{e.Name} {e.Value}"));
                    output.WriteLine($"  {S(stage, "name"),-17} {L(stage, "packets"),10}  {string.Join(", ", notes)}".TrimEnd());
                }

                break;
            case "services":
                foreach (JsonElement s in result.EnumerateArray())
                {
                    output.WriteLine($"{S(s, "service")}/{S(s, "port")} {S(s, "protocol")} {S(s, "vip")}:{L(s, "servicePort")} ({S(s, "scheduler")}, affinity {S(s, "affinity")})");
                    foreach (JsonElement b in s.GetProperty("backends").EnumerateArray())
                    {
                        output.WriteLine($"    -> {S(b, "ip")}:{L(b, "port")} weight {L(b, "weight")}{(b.GetProperty("terminating").GetBoolean() ? " terminating" : "")}, {L(b, "openConnections")} open");
                    }
                }

                break;
            case "conntrack":
                output.WriteLine($"{L(result, "matched")} of {L(result, "total")} flows match{(L(result, "removed") > 0 ? $"; {L(result, "removed")} removed" : "")}");
                foreach (JsonElement f in result.GetProperty("flows").EnumerateArray())
                {
                    string backend = f.GetProperty("backend").ValueKind == JsonValueKind.Null ? "" : $" -> {S(f, "backend")}:{L(f, "backendPort")}";
                    output.WriteLine($"  {S(f, "protocol"),-6} {S(f, "source")}:{L(f, "sourcePort")} > {S(f, "destination")}:{L(f, "destinationPort")}{backend}  {S(f, "state")}  expires in {f.GetProperty("expiresInSeconds").GetDouble()}s");
                }

                break;
            case "trace":
                output.Write(S(result, "text"));
                output.WriteLine($"{L(result, "traced")} packet(s) traced");
                break;
            case "service-apply":
                foreach (JsonElement line in result.EnumerateArray())
                {
                    output.WriteLine(line.GetString());
                }

                break;
            default:
                output.WriteLine(result.ValueKind == JsonValueKind.String ? result.GetString() : JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
                break;
        }
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
    public static void PrintTraceJson(JsonElement result, TextWriter output)
        => output.WriteLine(JsonSerializer.Serialize(result.GetProperty("packets"), new JsonSerializerOptions { WriteIndented = true }));

    private static string S(JsonElement e, string name) => e.GetProperty(name) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : e.GetProperty(name).ToString();

    private static long L(JsonElement e, string name) => e.GetProperty(name).GetInt64();
}
