using System.Globalization;
using System.Text.RegularExpressions;

namespace Dataplane.IngressSideBySide;

/// <summary>The two protocols measured: wrk over HTTP/1.1 keep-alive, h2load over HTTP/2 with TLS.</summary>
internal enum Protocol
{
    Http1,
    Http2,
}

/// <summary>What one load run gave: requests/s, latency percentiles (ms), requests done and failed, the load tool's own lines.</summary>
internal sealed record LoadFigures(double RequestsPerSecond, double P50Ms, double P99Ms, long Requests, long Errors, string Negotiated);

/// <summary>How the load is made: the same concurrency for every proxy, the load tool pinned to the load CPUs.</summary>
internal sealed record LoadSettings(int Seconds, int Http1Connections, int Http2Clients, int Http2Streams)
{
    /// <summary>The command line for one run against <paramref name="proxy"/> (without the `ip netns exec NS` in front).</summary>
    public string[] Command(Protocol protocol, Proxy proxy, string loadCpus, int seconds, string logFile) => protocol switch
    {
        Protocol.Http1 => ["taskset", "-c", loadCpus, "wrk", "-t1", $"-c{Http1Connections}", $"-d{seconds}s", "--latency",
            "-H", $"Host: {Topology.Host}", $"http://127.0.0.1:{proxy.HttpPort}/"],
        // --connect-to keeps bench.example as the URI's host: it is the SNI and the :authority, as a real client sends them.
        // One TLS 1.3 suite offered: nginx follows the client's order (AES-128-GCM), Kestrel its own (AES-256-GCM).
        _ => ["taskset", "-c", loadCpus, "h2load", "-t1", $"-c{Http2Clients}", $"-m{Http2Streams}", "-D", $"{seconds}",
            "--tls13-ciphers=TLS_AES_128_GCM_SHA256", $"--connect-to=127.0.0.1:{proxy.HttpsPort}", $"--log-file={logFile}", $"https://{Topology.Host}/"],
    };

    public string Concurrency(Protocol protocol) => protocol == Protocol.Http1
        ? $"{Http1Connections} connections"
        : $"{Http2Clients} connections x {Http2Streams} streams";
}

/// <summary>Runs wrk or h2load in the namespace and reads their output.</summary>
internal static partial class Load
{
    public static LoadFigures Run(Topology topology, LoadSettings settings, Protocol protocol, Proxy proxy, int seconds)
    {
        string log = Path.Combine(topology.WorkDir, "h2load.log");
        File.Delete(log);
        string[] argv = ["ip", "netns", "exec", topology.Namespace, .. settings.Command(protocol, proxy, topology.LoadCpus, seconds, log)];
        (int exit, string stdout, string stderr) = Shell.Capture(argv, TimeSpan.FromSeconds(seconds + 60));
        if (exit != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', argv[4..])} exited {exit}: {Shell.Tail(stderr + stdout)}");
        }

        return protocol == Protocol.Http1 ? ParseWrk(stdout) : ParseH2Load(stdout, log);
    }

    /// <summary>
    /// wrk --latency: "Requests/sec: N", the "Latency Distribution" percentiles (50% 1.23ms ... 99% 4.56ms), "N requests
    /// in", and as errors the "Non-2xx or 3xx responses" and "Socket errors" (connect, read, write, timeout) it counted.
    /// </summary>
    public static LoadFigures ParseWrk(string output)
    {
        double rate = Number(RequestsPerSecond().Match(output), output, "Requests/sec");
        double p50 = Duration(Percentile(output, "50"));
        double p99 = Duration(Percentile(output, "99"));
        long requests = (long)Number(WrkRequests().Match(output), output, "requests in");
        long errors = NonSuccess().Match(output) is { Success: true } n ? long.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        if (SocketErrors().Match(output) is { Success: true } socket)
        {
            errors += Enumerable.Range(1, 4).Sum(g => long.Parse(socket.Groups[g].Value, CultureInfo.InvariantCulture));
        }

        return new LoadFigures(rate, p50, p99, requests, errors, "HTTP/1.1");
    }

    /// <summary>
    /// h2load: "finished in 10.00s, N req/s", "requests: N total, N started, N done, N succeeded, N failed, N errored,
    /// N timeout", the negotiated TLS and ALPN; the percentiles from its --log-file (one line per request: start µs,
    /// status, elapsed µs), which it does not print itself (only min/max/mean/sd).
    /// </summary>
    public static LoadFigures ParseH2Load(string output, string logFile)
    {
        double rate = Number(H2Rate().Match(output), output, "req/s");
        Match counts = H2Requests().Match(output);
        if (!counts.Success)
        {
            throw new InvalidOperationException($"no 'requests:' line in h2load's output: {Shell.Tail(output)}");
        }

        long done = long.Parse(counts.Groups[3].Value, CultureInfo.InvariantCulture);
        long succeeded = long.Parse(counts.Groups[4].Value, CultureInfo.InvariantCulture);
        long errors = long.Parse(counts.Groups[1].Value, CultureInfo.InvariantCulture) - succeeded;
        var elapsed = new List<long>();
        foreach (string line in File.ReadLines(logFile))
        {
            string[] fields = line.Split('\t');
            if (fields.Length == 3 && fields[1].StartsWith('2'))
            {
                elapsed.Add(long.Parse(fields[2], CultureInfo.InvariantCulture));
            }
        }

        if (elapsed.Count == 0)
        {
            throw new InvalidOperationException($"h2load logged no successful request: {Shell.Tail(output)}");
        }

        elapsed.Sort();
        string negotiated = string.Join(", ", new[] { "TLS Protocol", "Cipher", "Application protocol" }
            .Select(k => Regex.Match(output, $@"^{k}: (.+)$", RegexOptions.Multiline) is { Success: true } m ? m.Groups[1].Value.Trim() : null)
            .Where(v => v is not null));
        return new LoadFigures(rate, NearestRank(elapsed, 0.50) / 1000.0, NearestRank(elapsed, 0.99) / 1000.0, done, errors, negotiated);
    }

    private static long NearestRank(List<long> sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static string Percentile(string output, string percent) =>
        Regex.Match(output, $@"^\s+{percent}%\s+(\S+)$", RegexOptions.Multiline) is { Success: true } m
            ? m.Groups[1].Value
            : throw new InvalidOperationException($"no {percent}% line in wrk's latency distribution: {Shell.Tail(output)}");

    /// <summary>wrk's durations ("812.00us", "1.23ms", "2.00s", "1.50m") in milliseconds.</summary>
    public static double Duration(string text)
    {
        Match m = WrkDuration().Match(text);
        if (!m.Success)
        {
            throw new InvalidOperationException($"not a wrk duration: '{text}'");
        }

        double value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch
        {
            "us" => value / 1000,
            "ms" => value,
            "s" => value * 1000,
            "m" => value * 60_000,
            _ => value * 3_600_000,
        };
    }

    private static double Number(Match match, string output, string what) => match.Success
        ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)
        : throw new InvalidOperationException($"no '{what}' in the load tool's output: {Shell.Tail(output)}");

    [GeneratedRegex(@"^Requests/sec:\s+([\d.]+)", RegexOptions.Multiline)]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"^\s+(\d+) requests in", RegexOptions.Multiline)]
    private static partial Regex WrkRequests();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();

    [GeneratedRegex(@"^([\d.]+)(us|ms|s|m|h)$")]
    private static partial Regex WrkDuration();

    [GeneratedRegex(@"^finished in [\d.]+\w+, ([\d.]+) req/s", RegexOptions.Multiline)]
    private static partial Regex H2Rate();

    [GeneratedRegex(@"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded", RegexOptions.Multiline)]
    private static partial Regex H2Requests();
}
