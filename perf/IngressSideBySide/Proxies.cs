using System.Text;

namespace Dataplane.IngressSideBySide;

/// <summary>One reverse proxy under test: where it listens (127.0.0.1 in the run's namespace), how it was started, and what it was given.</summary>
internal abstract class Proxy(string key, string title, int httpPort, int httpsPort)
{
    public string Key { get; } = key;

    public string Title { get; } = title;

    public int HttpPort { get; } = httpPort;

    public int HttpsPort { get; } = httpsPort;

    /// <summary>The running proxy (its main process: the nginx master, or the dotnet host).</summary>
    public Background? Process { get; protected set; }

    /// <summary>The exact command line, for the report.</summary>
    public string Command { get; protected set; } = "";

    /// <summary>Files it was given (name, text), for the report.</summary>
    public List<(string Name, string Text)> Files { get; } = [];

    /// <summary>Anything else worth keeping in the report (the controller's own view of its routes).</summary>
    public string Notes { get; protected set; } = "";

    /// <summary>Starts it pinned to the topology's proxy CPUs and waits until it answers <see cref="Topology.Host"/> on both ports with 200.</summary>
    public abstract void Start(Topology topology);

    /// <summary>Waits until HTTP/1.1 and HTTP/2 (TLS) both answer 200 for <see cref="Topology.Host"/>.</summary>
    protected void WaitUntilServing(Topology topology, TimeSpan timeout)
    {
        Topology.WaitFor($"200 from {Title} on :{HttpPort}", () => topology.Curl($"http://127.0.0.1:{HttpPort}/", Topology.Host) == "200 1.1", timeout, Process);
        Topology.WaitFor($"200 over HTTP/2 from {Title} on :{HttpsPort}", () => topology.Curl($"https://127.0.0.1:{HttpsPort}/", http2: true) == "200 2",
            TimeSpan.FromSeconds(20), Process);
        string other = topology.Curl($"http://127.0.0.1:{HttpPort}/", "unknown.example");
        if (!other.StartsWith("404", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{Title} answers an unknown host with {other}, not 404: the comparison needs the same routing on both");
        }
    }
}

/// <summary>Debian's nginx as the equivalent reverse proxy (<see cref="Nginx.ProxyConfig"/>).</summary>
internal sealed class NginxProxy() : Proxy("nginx", "nginx (Debian)", 9000, 9443)
{
    public override void Start(Topology topology)
    {
        string config = Nginx.ProxyConfig(topology.WorkDir, Key, HttpPort, HttpsPort, topology.CertificateFile, topology.KeyFile);
        string path = Path.Combine(topology.WorkDir, $"{Key}.conf");
        File.WriteAllText(path, config);
        Directory.CreateDirectory(Path.Combine(topology.WorkDir, $"{Key}-tmp"));
        string[] argv = ["taskset", "-c", topology.ProxyCpus, "nginx", "-p", topology.WorkDir, "-c", path, "-e", "stderr"];
        Command = Shell.Quote(argv);
        Files.Add(("nginx.conf", config));
        Process = topology.Start(argv);
        WaitUntilServing(topology, TimeSpan.FromSeconds(20));
    }
}

/// <summary>
/// Our controller: `dataplane ingress --objects FILE` with an Ingress routing <see cref="Topology.Host"/> / (Prefix) to
/// a Service whose EndpointSlice lists both backends, TLS from a kubernetes.io/tls Secret holding the run's certificate.
/// <paramref name="environment"/> (KEY=VALUE) tunes its hosting (GC, sockets) without touching its code.
/// </summary>
internal sealed class DataplaneProxy(string key, string title, int httpPort, int httpsPort, string dataplaneDll, IReadOnlyList<string> environment)
    : Proxy(key, title, httpPort, httpsPort)
{
    public IReadOnlyList<string> Environment { get; } = environment;

    /// <summary>True when this build of `dataplane` has the `ingress` command.</summary>
    /// <remarks>The root's help lists its commands; `dataplane ingress --help` is no test (an unknown command with --help prints the root's help).</remarks>
    public static bool Available(string dataplaneDll) =>
        File.Exists(dataplaneDll) && Shell.Capture(["dotnet", dataplaneDll, "--help"]).StdOut.Split('\n').Any(l => l.TrimStart().StartsWith("ingress ", StringComparison.Ordinal));

    public override void Start(Topology topology)
    {
        if (!Available(dataplaneDll))
        {
            throw new InvalidOperationException($"no `dataplane ingress` in {dataplaneDll}: the controller has not landed on this branch yet");
        }

        string objects = Path.Combine(topology.WorkDir, $"{Key}-objects.yaml");
        File.WriteAllText(objects, Objects(File.ReadAllText(topology.CertificateFile), File.ReadAllText(topology.KeyFile)));
        string socket = Path.Combine(topology.WorkDir, $"{Key}.sock");
        string[] argv = ["taskset", "-c", topology.ProxyCpus, "env", .. Environment, "dotnet", dataplaneDll, "ingress", "--objects", objects,
            "--http", $"127.0.0.1:{HttpPort}", "--https", $"127.0.0.1:{HttpsPort}", "--control-socket", socket, "--log-level", "Warning"];
        Command = Shell.Quote(argv);
        Files.Add(("objects.yaml", Objects("<the run's self-signed certificate, PEM>", "<its key, PEM>")));
        Process = topology.Start(argv);
        // JIT and the first routing snapshot on a pinned, shared core: slower than nginx to answer the first time.
        WaitUntilServing(topology, TimeSpan.FromSeconds(120));
        (int exit, string stdout, string stderr) = Shell.Capture(["ip", "netns", "exec", topology.Namespace, "dotnet", dataplaneDll, "ingress", "status",
            "--control-socket", socket]);
        Notes = exit == 0 ? stdout.TrimEnd() : $"`dataplane ingress status` exited {exit}: {Shell.Tail(stderr + stdout, 300)}";
    }

    /// <summary>The objects file: a kubectl List with the Ingress, its Service, EndpointSlice and TLS Secret.</summary>
    private static string Objects(string certificate, string key)
    {
        static string Data(string pem) => pem.StartsWith('<') ? pem : Convert.ToBase64String(Encoding.ASCII.GetBytes(pem));
        return $$"""
            apiVersion: v1
            kind: List
            items:
            - apiVersion: networking.k8s.io/v1
              kind: Ingress
              metadata: { name: bench, namespace: default }
              spec:
                ingressClassName: dataplane
                tls:
                - { hosts: [{{Topology.Host}}], secretName: bench-tls }
                rules:
                - host: {{Topology.Host}}
                  http:
                    paths:
                    - { path: /, pathType: Prefix, backend: { service: { name: bench, port: { number: 80 } } } }
            - apiVersion: v1
              kind: Service
              metadata: { name: bench, namespace: default }
              spec:
                type: ClusterIP
                clusterIP: 10.96.0.80
                ports: [{ name: http, port: 80, targetPort: {{Topology.BackendPort}}, protocol: TCP }]
            - apiVersion: discovery.k8s.io/v1
              kind: EndpointSlice
              metadata: { name: bench-x1, namespace: default, labels: { kubernetes.io/service-name: bench } }
              addressType: IPv4
              ports: [{ name: http, port: {{Topology.BackendPort}}, protocol: TCP }]
              endpoints:
              - { addresses: [{{Topology.BackendIps[0]}}], conditions: { ready: true } }
              - { addresses: [{{Topology.BackendIps[1]}}], conditions: { ready: true } }
            - apiVersion: v1
              kind: Secret
              metadata: { name: bench-tls, namespace: default }
              type: kubernetes.io/tls
              data:
                tls.crt: {{Data(certificate)}}
                tls.key: {{Data(key)}}

            """;
    }
}
