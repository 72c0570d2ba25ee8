using System.Text.Json;

namespace Dataplane.Cli.Commands;

/// <summary>`dataplane ingress status` as tables: a summary line, the routes (each backend's endpoints under it, like `ctl services`), the TLS hosts, the warnings.</summary>
internal static class IngressStatusOutput
{
    public static void Print(JsonElement status, TextWriter output)
    {
        JsonElement source = status.GetProperty("source");
        string synced = source.GetProperty("synced").GetBoolean() ? "synced" : "not synced yet";
        string lastError = source.GetProperty("lastError") is { ValueKind: JsonValueKind.String } e ? $"; last reload failed: {e.GetString()}" : "";
        output.WriteLine($"generation {status.GetProperty("generation").GetInt64()}: {status.GetProperty("ingresses").GetInt32()} ingresses of class {S(status, "ingressClass")}"
            + $" ({status.GetProperty("ignoredIngresses").GetInt32()} of other classes ignored), {S(source, "kind")} {S(source, "location")} ({synced}{lastError})");

        List<string[]> rows = [["HOST", "PATH", "TYPE", "BACKEND", "ENDPOINTS", "INGRESS"]];
        List<IReadOnlyList<string>> details = [[]];
        foreach (JsonElement route in status.GetProperty("routes").EnumerateArray())
        {
            string[] destinations = [.. route.GetProperty("destinations").EnumerateArray().Select(static d => d.GetString()!)];
            string path = S(route, "path") is { Length: > 0 } p ? p : "(default)";
            rows.Add([S(route, "host"), path, S(route, "pathType"), S(route, "backend"), destinations.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), S(route, "ingress")]);
            details.Add(route.GetProperty("problem") is { ValueKind: JsonValueKind.String } problem
                ? [$"    503: {problem.GetString()}"]
                : [.. destinations.Select(static d => $"    -> {d}")]);
        }

        Table(rows, details, output);

        JsonElement tls = status.GetProperty("tls");
        if (tls.GetArrayLength() > 0)
        {
            output.WriteLine();
            List<string[]> tlsRows = [["TLS HOST", "SECRET", "SUBJECT", "EXPIRES"]];
            foreach (JsonElement host in tls.EnumerateArray())
            {
                tlsRows.Add([S(host, "host"), S(host, "secret"), S(host, "subject"), host.GetProperty("notAfter").GetDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", System.Globalization.CultureInfo.InvariantCulture)]);
            }

            Table(tlsRows, null, output);
        }

        JsonElement warnings = status.GetProperty("warnings");
        if (warnings.GetArrayLength() > 0)
        {
            output.WriteLine();
            output.WriteLine($"{warnings.GetArrayLength()} warning(s):");
            foreach (JsonElement warning in warnings.EnumerateArray())
            {
                output.WriteLine($"  {warning.GetString()}");
            }
        }
    }

    /// <summary>Columns as wide as their widest cell; each row's detail lines printed under it.</summary>
    private static void Table(List<string[]> rows, List<IReadOnlyList<string>>? details, TextWriter output)
    {
        int[] widths = new int[rows[0].Length];
        foreach (string[] row in rows)
        {
            for (int i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        for (int r = 0; r < rows.Count; r++)
        {
            output.WriteLine(string.Join("  ", rows[r].Select((cell, i) => i == rows[r].Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
            foreach (string line in details?[r] ?? [])
            {
                output.WriteLine(line);
            }
        }
    }

    private static string S(JsonElement e, string name) => e.GetProperty(name).GetString() ?? "";
}
