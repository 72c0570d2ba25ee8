using System.Diagnostics;
using System.Reflection;

namespace Dataplane.Demo;

/// <summary>
/// The demo's Ingress: `dataplane ingress` runs as its own process in the ingress pod on node-a, behind the
/// `ingress` LoadBalancer Service (its IP announced by node-b, node ports on both nodes), with an Ingress for
/// shop.example (`/` to `web` on both nodes, `/b` to `web-local` on node-b) and TLS from a Secret whose certificate
/// openssl makes for the run. The external client curls the load-balancer IP and a node port by name and path, over
/// HTTP and HTTPS (HTTP/2, the certificate verified), an unknown host gets the default backend's 404, and after a
/// backend is removed from its EndpointSlice (the objects file rewritten, SIGHUP) it gets no more requests.
/// </summary>
public static class DemoIngress
{
    public const string Flow = "13. Ingress: host and path, HTTP and HTTPS";
    private const string Host = "shop.example";
    private static readonly TimeSpan s_ready = TimeSpan.FromSeconds(30);

    public static async Task<DemoStep> RunAsync(DemoTopology topology, CancellationToken cancel)
    {
        string directory = Directory.CreateTempSubdirectory("dpdemo-ingress-").FullName;
        Process? controller = null;
        try
        {
            (int certCode, string certText) = await DemoRunner.RunAsync(cancel, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", $"/CN={Host}", "-addext", $"subjectAltName=DNS:{Host}", "-keyout", Path.Combine(directory, "tls.key"), "-out", Path.Combine(directory, "tls.crt")).ConfigureAwait(false);
            if (certCode != 0)
            {
                return new DemoStep(Flow, "openssl req -x509", false, certText.Trim());
            }

            string objects = Path.Combine(directory, "objects.yaml");
            string certificate = await File.ReadAllTextAsync(Path.Combine(directory, "tls.crt"), cancel).ConfigureAwait(false);
            string key = await File.ReadAllTextAsync(Path.Combine(directory, "tls.key"), cancel).ConfigureAwait(false);
            await File.WriteAllTextAsync(objects, DemoTopology.IngressObjectsYaml(certificate, key, ["web-b1", "web-b2"]), cancel).ConfigureAwait(false);

            string socket = Path.Combine(directory, "ingress.sock");
            controller = StartController(topology.PodNamespace(DemoTopology.IngressPod), objects, socket);
            if (!await ServingAsync(topology, controller, cancel).ConfigureAwait(false))
            {
                return new DemoStep(Flow, "dataplane ingress", false, $"not serving after {s_ready.TotalSeconds:0} s: {await OutputAsync(controller).ConfigureAwait(false)}");
            }

            string ext = topology.ExternalNamespace;
            string lb = DemoTopology.IngressLoadBalancerIp;
            string nodeA = topology.NodeA.UplinkIp;
            Curl root = await CurlAsync(ext, cancel, "--resolve", $"{Host}:80:{lb}", $"http://{Host}/[1-10]").ConfigureAwait(false);
            Curl nodePort = await CurlAsync(ext, cancel, "-H", $"Host: {Host}", $"http://{nodeA}:{DemoTopology.IngressHttpNodePort}/b/[1-6]").ConfigureAwait(false);
            Curl https = await CurlAsync(ext, cancel, "--http2", "--cacert", Path.Combine(directory, "tls.crt"), "--resolve", $"{Host}:443:{lb}",
                "-w", " %{http_version}\\n", $"https://{Host}/b/[1-4]").ConfigureAwait(false);
            (_, string unknown) = await DemoRunner.RunAsync(cancel, "ip", "netns", "exec", ext, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "--connect-timeout", "2", "-m", "3", "-H", "Host: nope.example", $"http://{lb}/").ConfigureAwait(false);

            // web-b2 leaves the EndpointSlice: the file is rewritten and the controller told to re-read it.
            await File.WriteAllTextAsync(objects, DemoTopology.IngressObjectsYaml(certificate, key, ["web-b1"]), cancel).ConfigureAwait(false);
            await DemoRunner.RunAsync(cancel, "kill", "-HUP", controller.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
            Curl drained = await UntilAsync(() => CurlAsync(ext, cancel, "--resolve", $"{Host}:80:{lb}", $"http://{Host}/b/[1-6]"),
                static c => c.Served.Keys.SequenceEqual(["web-b1"]), cancel).ConfigureAwait(false);

            bool bothNodes = root.Served.Keys.Any(static p => p.StartsWith("web-b", StringComparison.Ordinal)) && root.Served.Keys.Any(static p => !p.StartsWith("web-b", StringComparison.Ordinal));
            bool ok = root.Failed == 0 && bothNodes
                && nodePort.Failed == 0 && nodePort.Served.Keys.All(static p => p.StartsWith("web-b", StringComparison.Ordinal))
                && https.Failed == 0 && https.Served.Keys.All(static p => p.StartsWith("web-b", StringComparison.Ordinal)) && https.Versions.SequenceEqual(["2"])
                && unknown.Trim() == "404" && drained.Failed == 0 && drained.Served.Keys.SequenceEqual(["web-b1"]);
            return new DemoStep(Flow,
                $"from {DemoTopology.ExternalClientIp}: {Host}/ via {lb}:80, /b via node-a:{DemoTopology.IngressHttpNodePort} and https://{lb}:443, an unknown host",
                ok, $"/ {root.Spread()}; /b {nodePort.Spread()}; https /b {https.Spread()} over HTTP/{string.Join(",", https.Versions)}; unknown host {unknown.Trim()}; "
                    + $"web-b2 removed from its slice: /b {drained.Spread()}");
        }
        finally
        {
            if (controller is not null)
            {
                await StopAsync(controller).ConfigureAwait(false);
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>`dataplane ingress` in the ingress pod's namespace: this same program, started again (dotnet dataplane.dll, or the apphost).</summary>
    private static Process StartController(string netns, string objects, string socket)
    {
        string program = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])["netns", "exec", netns, program])
        {
            info.ArgumentList.Add(arg);
        }

        if (Path.GetFileNameWithoutExtension(program) == "dotnet" && Assembly.GetEntryAssembly()?.Location is { Length: > 0 } entry)
        {
            info.ArgumentList.Add(entry);
        }

        foreach (string arg in (string[])["ingress", "--objects", objects, "--http", $"0.0.0.0:{DemoTopology.IngressHttpPort}",
            "--https", $"0.0.0.0:{DemoTopology.IngressHttpsPort}", "--control-socket", socket, "--log-level", "Warning"])
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start dataplane ingress");
    }

    /// <summary>Until the controller answers in its own pod (any HTTP status: the 404 of an unknown host is an answer).</summary>
    private static async Task<bool> ServingAsync(DemoTopology topology, Process controller, CancellationToken cancel)
    {
        DateTime deadline = DateTime.UtcNow + s_ready;
        while (DateTime.UtcNow < deadline && !controller.HasExited)
        {
            (_, string code) = await DemoRunner.RunAsync(cancel, "ip", "netns", "exec", topology.PodNamespace("client"), "curl", "-s", "-o", "/dev/null",
                "-w", "%{http_code}", "--connect-timeout", "1", "-m", "2", $"http://{DemoTopology.PodIp(DemoTopology.IngressPod)}:{DemoTopology.IngressHttpPort}/").ConfigureAwait(false);
            if (code.Trim() is { Length: 3 } status && status != "000")
            {
                return true;
            }

            await Task.Delay(100, cancel).ConfigureAwait(false);
        }

        return false;
    }

    private static async Task<Curl> UntilAsync(Func<Task<Curl>> probe, Func<Curl, bool> done, CancellationToken cancel)
    {
        DateTime deadline = DateTime.UtcNow + s_ready;
        Curl last = await probe().ConfigureAwait(false);
        while (!done(last) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, cancel).ConfigureAwait(false);
            last = await probe().ConfigureAwait(false);
        }

        return last;
    }

    private static async Task StopAsync(Process controller)
    {
        if (!controller.HasExited)
        {
            await DemoRunner.RunAsync(CancellationToken.None, "kill", "-TERM", controller.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await controller.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                controller.Kill(entireProcessTree: true);
            }
        }

        controller.Dispose();
    }

    private static async Task<string> OutputAsync(Process controller)
    {
        if (!controller.HasExited)
        {
            controller.Kill(entireProcessTree: true);
        }

        return (await controller.StandardError.ReadToEndAsync().ConfigureAwait(false) + await controller.StandardOutput.ReadToEndAsync().ConfigureAwait(false)).Trim();
    }

    /// <summary>Who answered a run of curl requests, the HTTP versions curl used (with -w), and how many failed.</summary>
    private sealed record Curl(SortedDictionary<string, int> Served, IReadOnlyList<string> Versions, int Failed)
    {
        public string Spread() => string.Join(", ", Served.Select(static s => $"{s.Key} {s.Value}")) + (Failed > 0 ? $", {Failed} failed" : "");
    }

    private static async Task<Curl> CurlAsync(string netns, CancellationToken cancel, params string[] args)
    {
        string url = args[^1];
        int count = url.Contains("[1-", StringComparison.Ordinal) ? int.Parse(url[(url.LastIndexOf('-') + 1)..^1], System.Globalization.CultureInfo.InvariantCulture) : 1;
        (_, string text) = await DemoRunner.RunAsync(cancel, "ip", ["netns", "exec", netns, "curl", "-sS", "--connect-timeout", "2", "-m", "3", .. args]).ConfigureAwait(false);
        var served = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var versions = new SortedSet<string>(StringComparer.Ordinal);
        int answered = 0;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // A server's line ("web-b1 10.244.1.14:40312"), or what -w printed after it (" 2": the HTTP version).
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0].StartsWith("web-", StringComparison.Ordinal))
            {
                served[parts[0]] = served.GetValueOrDefault(parts[0]) + 1;
                answered++;
            }
            else if (parts is [var version] && version is "1" or "1.0" or "1.1" or "2" or "3")
            {
                versions.Add(version);
            }
        }

        return new Curl(served, [.. versions], count - answered);
    }
}
