using System.Globalization;

namespace Dataplane.IngressSideBySide;

/// <summary>
/// Everything both proxies share, inside one network namespace made for the run (`dpt-ing` + run id): its loopback
/// carries the proxies' listeners (127.0.0.1), the two backends (10.244.1.11 and .12, pod-like addresses added to lo,
/// so nothing leaves the namespace and no port of the host is taken), the load generators' connections, and a
/// self-signed certificate for <see cref="Host"/> made with openssl. <see cref="Dispose"/> stops every process it
/// started (proxies included, through <see cref="Start"/>) and deletes the namespace.
/// </summary>
internal sealed class Topology : IDisposable
{
    /// <summary>The host the Ingress rule and nginx's server_name route, and the certificate's name (SNI).</summary>
    public const string Host = "bench.example";

    public const int BackendPort = 8080;

    /// <summary>Where each backend answers stub_status (its request counter), apart from the measured port.</summary>
    public const int BackendStatusPort = 8081;

    public static readonly string[] BackendIps = ["10.244.1.11", "10.244.1.12"];

    private readonly List<Background> _processes = [];

    public Topology(string runId, string workDir, string proxyCpus, string loadCpus)
    {
        Namespace = $"dpt-ing{runId}";
        WorkDir = workDir;
        ProxyCpus = proxyCpus;
        LoadCpus = loadCpus;
    }

    public string Namespace { get; }

    public string WorkDir { get; }

    /// <summary>The CPUs (taskset list) every proxy is pinned to: the same budget for both.</summary>
    public string ProxyCpus { get; }

    /// <summary>The CPUs the load generators and the backends share.</summary>
    public string LoadCpus { get; }

    public string CertificateFile => Path.Combine(WorkDir, "tls.crt");

    public string KeyFile => Path.Combine(WorkDir, "tls.key");

    /// <summary>One backend's nginx.conf (the other differs only in its address), for the report.</summary>
    public string BackendConfig { get; private set; } = "";

    public string BackendCommand { get; private set; } = "";

    /// <summary>The namespace, the certificate and both backends, each answering before this returns.</summary>
    public void Start()
    {
        Shell.Run("ip", "netns", "add", Namespace);
        Shell.Run("ip", "-n", Namespace, "link", "set", "lo", "up");
        foreach (string ip in BackendIps)
        {
            Shell.Run("ip", "-n", Namespace, "address", "add", $"{ip}/32", "dev", "lo");
        }

        // nginx's workers run as nobody: they may pass through the run's directory, not list it (the key stays 0600).
        File.SetUnixFileMode(WorkDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        Shell.Run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", KeyFile, "-out", CertificateFile, "-days", "2",
            "-subj", $"/CN={Host}", "-addext", $"subjectAltName=DNS:{Host}");

        for (int i = 0; i < BackendIps.Length; i++)
        {
            string name = $"backend-{i + 1}";
            string config = Nginx.BackendConfig(WorkDir, name, BackendIps[i]);
            string path = Path.Combine(WorkDir, name + ".conf");
            File.WriteAllText(path, config);
            Directory.CreateDirectory(Path.Combine(WorkDir, $"{name}-tmp"));
            string[] argv = ["taskset", "-c", LoadCpus, "nginx", "-p", WorkDir, "-c", path, "-e", "stderr"];
            Start(argv);
            if (i == 0)
            {
                BackendConfig = config;
                BackendCommand = Shell.Quote(argv);
            }
        }

        foreach (string ip in BackendIps)
        {
            WaitFor($"backend {ip}", () => Curl($"http://{ip}:{BackendPort}/") == "200 1.1", TimeSpan.FromSeconds(20));
        }
    }

    /// <summary>Starts <paramref name="argv"/> inside the namespace; it is stopped (SIGTERM, then killed) on <see cref="Dispose"/>.</summary>
    public Background Start(string[] argv)
    {
        Background process = Shell.Start(["ip", "netns", "exec", Namespace, .. argv], TimeSpan.FromSeconds(15));
        _processes.Add(process);
        return process;
    }

    /// <summary>`curl` inside the namespace: "STATUS HTTP-VERSION", or "000 0" when nothing answered.</summary>
    /// <param name="http2">HTTPS with HTTP/2 to <see cref="Host"/>, connected to <paramref name="url"/>'s port on 127.0.0.1 instead (SNI and :authority as a client would send them).</param>
    public string Curl(string url, string? host = null, bool http2 = false)
    {
        List<string> argv = ["ip", "netns", "exec", Namespace, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", "--max-time", "5"];
        if (host is not null)
        {
            argv.AddRange(["-H", $"Host: {host}"]);
        }

        if (http2)
        {
            int port = new Uri(url).Port;
            argv.AddRange(["-k", "--http2", "--connect-to", $"{Host}:443:127.0.0.1:{port}"]);
            url = $"https://{Host}/";
        }

        argv.Add(url);
        return Shell.Capture(argv, TimeSpan.FromSeconds(10)).StdOut.Trim();
    }

    /// <summary>Requests each backend has answered so far (stub_status; reading it counts one more on the status server).</summary>
    public long[] BackendRequests() => [.. BackendIps.Select(ip =>
    {
        // "Active connections: 2 \nserver accepts handled requests\n 2 2 7 \nReading: ..."
        string status = Shell.InNetns(Namespace, "curl", "-s", "--max-time", "5", $"http://{ip}:{BackendStatusPort}/");
        string[] lines = status.Split('\n');
        return lines.Length > 2 ? long.Parse(lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries)[2], CultureInfo.InvariantCulture) : 0L;
    })];

    /// <summary>Polls <paramref name="ready"/> until it holds; throws after <paramref name="timeout"/>.</summary>
    public static void WaitFor(string what, Func<bool> ready, TimeSpan timeout, Background? process = null)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!ready())
        {
            if (process is { HasExited: true })
            {
                throw new InvalidOperationException($"{process.Description} exited while waiting for {what}: {Shell.Tail(process.Output)}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"no {what} after {timeout.TotalSeconds:0} s" + (process is null ? "" : $": {Shell.Tail(process.Output)}"));
            }

            Shell.Stopping.WaitHandle.WaitOne(250);
            Shell.Stopping.ThrowIfCancellationRequested();
        }
    }

    public void Dispose()
    {
        foreach (Background process in Enumerable.Reverse(_processes))
        {
            process.Dispose();
        }

        Shell.Cleanup("ip", "netns", "del", Namespace);
    }
}
