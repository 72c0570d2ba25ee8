using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using Dataplane.Io.Netns;
using Dataplane.Tests.EndToEnd;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Soak;

/// <summary>
/// Churn against one real daemon for a given time, in rounds. Every round adds a pod at run time (`ctl pod add`,
/// the daemon makes its namespace), opens TCP and UDP flows from it and from a static client to pods and to
/// ClusterIPs (each flow checks its greeting or answer, then closes), and removes the pod. Every 2nd round a
/// service is applied and deleted with `ctl service`, every 3rd node.yaml is rewritten with a service more or
/// less and the daemon gets SIGHUP, every 5th the flood pod opens <see cref="FloodFlows"/> new UDP flows to a
/// ClusterIP as fast as it can. Round 0 does all of it, so the base figures are taken once every path has run.
/// Control calls are sequential (the socket limits concurrent connections).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class SoakRun : IDisposable
{
    public const string WebVip = "10.96.50.10";
    public const string DnsVip = "10.96.50.20";
    public const string ChurnVip = "10.96.50.30";
    public const string HupVip = "10.96.50.40";
    public const int TcpTargetPort = 8080;
    public const int UdpTargetPort = 5353;
    public const int FloodFlows = 2000;

    /// <summary>Static pods: a client, two backends (TCP name-echo on 8080, UDP echo on 5353) and the flood source.</summary>
    public static readonly string[] StaticPods = ["client", "s1", "s2", "flood"];

    /// <summary>
    /// Short timeouts so every flow the soak opens (closed TCP: TIME_WAIT; UDP; the flood) expires well within the
    /// run, and the table can be checked back at its base; established TCP only matters for a flow the soak lost.
    /// </summary>
    public const string ConntrackTimeouts =
        "{ tcpEstablished: 60, tcpSynSent: 5, tcpSynRecv: 5, tcpFinWait: 5, tcpCloseWait: 5, tcpLastAck: 5, tcpTimeWait: 5, tcpClose: 5, udp: 5, udpStream: 10, icmp: 5 }";

    private static readonly TimeSpan s_flowTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan s_changeTimeout = TimeSpan.FromSeconds(30);

    private readonly TestNamespaces _churnNamespaces = new();
    private readonly List<string> _churnNamespaceNames = [];
    private readonly List<IDisposable> _servers = [];
    private readonly byte[] _floodPayload = Encoding.ASCII.GetBytes("flood");
    private bool _hupServicePresent;

    private SoakRun(NodeUnderTest node) => Node = node;

    public NodeUnderTest Node { get; }

    public SoakFigures Figures { get; } = new();

    /// <summary>Link names in the daemon's namespace before any churn (its TAPs for the static pods, lo).</summary>
    public IReadOnlySet<string> BaseLinks { get; private set; } = new HashSet<string>();

    /// <summary>The namespaces the daemon made for churned pods (all should be gone once the pods are).</summary>
    public IReadOnlyList<string> ChurnNamespaces => _churnNamespaceNames;

    /// <summary>The soak's length: DATAPLANE_SOAK_SECONDS, or 60 s (what CI runs).</summary>
    public static TimeSpan DurationFromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable("DATAPLANE_SOAK_SECONDS");
        return string.IsNullOrWhiteSpace(text)
            ? TimeSpan.FromSeconds(60)
            : TimeSpan.FromSeconds(int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture));
    }

    public static SoakRun Start()
    {
        NodeUnderTest node = NodeUnderTest.Start(new NodeOptions
        {
            Pods = StaticPods,
            Services = Services(withHup: false),
            ConntrackExtra = [$"  timeouts: {ConntrackTimeouts}"],
        });
        var run = new SoakRun(node);
        try
        {
            foreach (string backend in (string[])["s1", "s2"])
            {
                run._servers.Add(new NameEchoServer(node, backend, TcpTargetPort));
                run._servers.Add(new UdpEchoServer(node, backend, UdpTargetPort));
            }

            run.Figures.RssStart = ProcessProbe.ResidentBytes(node.Pid);
            run.Figures.ConntrackBase = run.ConntrackEntries();
            run.BaseLinks = TestNamespaces.LinkNames(node.Namespace).ToHashSet(StringComparer.Ordinal);
            return run;
        }
        catch
        {
            run.Dispose();
            throw;
        }
    }

    /// <summary>Runs rounds until <paramref name="duration"/> has passed (at least the warm-up round and one more).</summary>
    public async Task ChurnAsync(TimeSpan duration, Action<string> log)
    {
        var clock = Stopwatch.StartNew();
        int round = 0;
        do
        {
            await RoundAsync(round);
            Sample();
            if (round == 0)
            {
                Figures.RssBase = ProcessProbe.ResidentBytes(Node.Pid);
                Figures.FdBase = ProcessProbe.OpenDescriptors(Node.Pid);
                log(FormattableString.Invariant($"warm-up done at {clock.Elapsed.TotalSeconds:0} s: rss {Figures.RssBase / 1048576.0:0.0} MiB, fds {Figures.FdBase}"));
            }
            else if (round % 20 == 0)
            {
                log(FormattableString.Invariant($"round {round} at {clock.Elapsed.TotalSeconds:0} s: rss {ProcessProbe.ResidentBytes(Node.Pid) / 1048576.0:0.0} MiB, fds {ProcessProbe.OpenDescriptors(Node.Pid)}, flows {Figures.TcpFlowsOpened + Figures.UdpFlowsOpened}, failures {Figures.FlowFailures.Count}"));
            }

            round++;
        }
        while (clock.Elapsed < duration || round < 2);

        Figures.Rounds = round;
        Figures.Duration = clock.Elapsed;
    }

    /// <summary>
    /// After the churn: waits (up to the deadlines) for conntrack to come back to its base and the descriptor count
    /// to its base, then records the end figures, counters and error log lines. The caller asserts on them.
    /// </summary>
    public void Settle()
    {
        // The longest timeout a closed or forgotten flow can have left is tcpEstablished (60 s); sweeping is lazy.
        Figures.ConntrackEnd = WaitFor(ConntrackEntries, v => v <= Figures.ConntrackBase, TimeSpan.FromSeconds(150));
        // Control connections and removed pods' TAPs are closed asynchronously; give them a moment.
        Figures.FdEnd = WaitFor(() => ProcessProbe.OpenDescriptors(Node.Pid), v => v <= Figures.FdBase, TimeSpan.FromSeconds(60));
        Figures.RssEnd = ProcessProbe.ResidentBytes(Node.Pid);
        Figures.RssPeak = Math.Max(Figures.RssPeak, Figures.RssEnd);

        Figures.ReadErrors = Node.CtlJson("status").GetProperty("readErrors").GetInt64();
        JsonElement stats = Node.CtlJson("stats");
        Figures.TxErrors = stats.GetProperty("ports").EnumerateArray().Sum(p => p.GetProperty("txErrors").GetInt64());
        foreach (JsonElement stage in stats.GetProperty("stages").EnumerateArray())
        {
            foreach (JsonProperty drop in stage.GetProperty("drops").EnumerateObject())
            {
                if (drop.Value.GetInt64() != 0)
                {
                    Figures.Drops[$"{stage.GetProperty("name").GetString()}/{drop.Name}"] = drop.Value.GetInt64();
                }
            }
        }

        foreach (string line in Node.Log.Split('\n'))
        {
            if (line.Contains(" fail: ", StringComparison.Ordinal) || line.Contains(" crit: ", StringComparison.Ordinal))
            {
                Figures.ErrorLogLines.Add(line.TrimEnd());
            }
        }
    }

    /// <summary>The pods `ctl pod list` shows now.</summary>
    public IReadOnlyList<string> ListedPods() =>
        [.. Node.CtlJson("pod", "list").EnumerateArray().Select(p => p.GetProperty("name").GetString()!)];

    public void Dispose()
    {
        var errors = new List<Exception>();
        foreach (IDisposable server in _servers)
        {
            Try(server.Dispose, errors);
        }

        Try(Node.Dispose, errors);
        // Only if a churned pod's namespace outlived its pod (the test has asserted by then); else nothing to do.
        Try(_churnNamespaces.Dispose, errors);
        if (errors.Count > 0)
        {
            throw new AggregateException("soak cleanup failed", errors);
        }
    }

    private async Task RoundAsync(int round)
    {
        string pod = FormattableString.Invariant($"churn-{round}");
        string ip = FormattableString.Invariant($"10.244.1.{100 + (round % 100)}");
        string netns = _churnNamespaces.NewName();
        _churnNamespaceNames.Add(netns);
        Node.CtlJson("pod", "add", pod, "--netns", netns, "--ip", $"{ip}/24");
        Figures.PodsAdded++;
        try
        {
            using NetworkNamespace churn = NetworkNamespace.Open(netns);
            Func<Socket> tcp = () => churn.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            Func<Socket> udp = () => churn.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
            await TcpFlowAsync($"{pod} -> s1", tcp, Node.Pod("s1").Ip, TcpTargetPort, "s1");
            await TcpFlowAsync($"{pod} -> web", tcp, WebVip, 80, null);
            await UdpFlowAsync($"{pod} -> dns", udp, DnsVip, 53);
        }
        finally
        {
            Node.CtlJson("pod", "del", pod);
            Figures.PodsRemoved++;
        }

        Func<Socket> clientTcp = () => Node.Socket("client", SocketType.Stream, ProtocolType.Tcp);
        Func<Socket> clientUdp = () => Node.Socket("client", SocketType.Dgram, ProtocolType.Udp);
        for (int i = 0; i < 4; i++)
        {
            await TcpFlowAsync("client -> web", clientTcp, WebVip, 80, null);
            await UdpFlowAsync("client -> dns", clientUdp, DnsVip, 53);
        }

        await TcpFlowAsync("client -> s2", clientTcp, Node.Pod("s2").Ip, TcpTargetPort, "s2");

        if (round % 2 == 0)
        {
            await ChangeServiceWithCtlAsync(round % 4 == 0 ? "s1" : "s2", clientTcp);
        }

        if (round % 3 == 0)
        {
            await ChangeServicesWithSighupAsync(clientTcp);
        }

        if (round % 5 == 0)
        {
            Flood();
        }
    }

    /// <summary>`ctl service apply` of a service to one backend, a flow through it that must land there, then `ctl service delete`.</summary>
    private async Task ChangeServiceWithCtlAsync(string backend, Func<Socket> clientTcp)
    {
        string yaml = Path.Combine(Node.Directory, "churn-service.yaml");
        await File.WriteAllTextAsync(yaml, "services:\n" + Service("churn", ChurnVip, "TCP", 80, TcpTargetPort, backend));
        Node.Ctl("service", "apply", "-f", yaml).EnsureSuccess();
        Figures.ServicesChanged++;
        await TcpFlowAsync($"client -> churn ({backend})", clientTcp, ChurnVip, 80, backend);
        Node.Ctl("service", "delete", "churn").EnsureSuccess();
        Figures.ServicesChanged++;
    }

    /// <summary>Rewrites node.yaml with the `hup` service added or removed, sends SIGHUP, and waits until `ctl services` agrees.</summary>
    private async Task ChangeServicesWithSighupAsync(Func<Socket> clientTcp)
    {
        _hupServicePresent = !_hupServicePresent;
        Node.WriteConfig(Services(_hupServicePresent));
        Node.Signal("HUP");
        Figures.ServicesChanged++;
        Poll.Until(() => HasService(HupVip) == _hupServicePresent, s_changeTimeout,
            $"SIGHUP to {(_hupServicePresent ? "add" : "remove")} the hup service");
        if (_hupServicePresent)
        {
            await TcpFlowAsync("client -> hup", clientTcp, HupVip, 80, "s2");
        }
    }

    /// <summary>
    /// <see cref="FloodFlows"/> new UDP flows from the flood pod to the dns ClusterIP, each from a fresh socket (a new
    /// source port), sent as fast as the pod can; the answers are not read (the sockets are gone, the pod's kernel
    /// answers port unreachable). Per-pod conntrack limits may refuse some; that is what they are for.
    /// </summary>
    private void Flood()
    {
        var target = new IPEndPoint(IPAddress.Parse(DnsVip), 53);
        Node.InNamespace("flood", () =>
        {
            for (int i = 0; i < FloodFlows; i++)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.SendTo(_floodPayload, target);
            }

            return FloodFlows;
        });
        Figures.Floods++;
        Figures.FloodPackets += FloodFlows;
        Figures.ConntrackPeak = Math.Max(Figures.ConntrackPeak, ConntrackEntries());
    }

    /// <summary>Connects, reads the server's "NAME PEER" greeting (checking the backend if given), echoes a line and closes.</summary>
    private async Task TcpFlowAsync(string what, Func<Socket> create, string ip, int port, string? backend)
    {
        Figures.TcpFlowsOpened++;
        try
        {
            using Socket socket = create();
            using var deadline = new CancellationTokenSource(s_flowTimeout);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(ip), port), deadline.Token);
            string greeting = await PodServers.ReadLineAsync(socket, s_flowTimeout);
            string answered = greeting.Split(' ')[0];
            if (backend is null ? answered is not ("s1" or "s2") : answered != backend)
            {
                Fail(what, $"greeted by '{greeting}'");
                return;
            }

            await socket.SendAsync(Encoding.ASCII.GetBytes("soak\n"), SocketFlags.None, deadline.Token);
            string echo = await PodServers.ReadLineAsync(socket, s_flowTimeout);
            if (echo != "soak")
            {
                Fail(what, $"echo '{echo}'");
                return;
            }

            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException or TimeoutException)
        {
            Fail(what, ex.Message);
        }
    }

    /// <summary>One datagram to ip:port; the answer must come from s1 or s2's echo server.</summary>
    private async Task UdpFlowAsync(string what, Func<Socket> create, string ip, int port)
    {
        Figures.UdpFlowsOpened++;
        try
        {
            using Socket socket = create();
            using var deadline = new CancellationTokenSource(s_flowTimeout);
            var target = new IPEndPoint(IPAddress.Parse(ip), port);
            await socket.SendToAsync(Encoding.ASCII.GetBytes("soak"), SocketFlags.None, target, deadline.Token);
            byte[] buffer = new byte[256];
            SocketReceiveFromResult answer = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), deadline.Token);
            string text = Encoding.ASCII.GetString(buffer, 0, answer.ReceivedBytes);
            if (text is not ("s1 soak" or "s2 soak"))
            {
                Fail(what, $"answer '{text}'");
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            Fail(what, ex.Message);
        }
    }

    private void Fail(string what, string why)
    {
        lock (Figures.FlowFailures)
        {
            Figures.FlowFailures.Add($"{what}: {why}");
        }
    }

    /// <summary>Checks the daemon is alive and takes the running samples (RSS, descriptors, conntrack).</summary>
    private void Sample()
    {
        if (Node.HasExited)
        {
            throw new InvalidOperationException($"the daemon exited during the soak{Environment.NewLine}{Node.DaemonOutput()}");
        }

        Figures.RssPeak = Math.Max(Figures.RssPeak, ProcessProbe.ResidentBytes(Node.Pid));
        Figures.FdPeak = Math.Max(Figures.FdPeak, ProcessProbe.OpenDescriptors(Node.Pid));
        Figures.ConntrackPeak = Math.Max(Figures.ConntrackPeak, ConntrackEntries());
    }

    private int ConntrackEntries() => Node.CtlJson("status").GetProperty("conntrackEntries").GetInt32();

    private bool HasService(string vip) =>
        Node.CtlJson("services").EnumerateArray().Any(s => s.GetProperty("vip").GetString() == vip);

    /// <summary>Re-reads <paramref name="probe"/> until <paramref name="done"/> holds or the deadline passes; returns the last value.</summary>
    private static int WaitFor(Func<int> probe, Func<int, bool> done, TimeSpan timeout)
    {
        int value = probe();
        try
        {
            Poll.Until(() => done(value = probe()), timeout, "the figure to settle");
        }
        catch (TimeoutException)
        {
            // The last value is the figure; the test's assertion says what it should have been.
        }

        return value;
    }

    private static void Try(Action action, List<Exception> errors)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            errors.Add(ex);
        }
    }

    /// <summary>node.yaml's services: web (TCP to s1, s2), dns (UDP to s1, s2) and, when asked, hup (TCP to s2).</summary>
    private static string Services(bool withHup) =>
        Service("web", WebVip, "TCP", 80, TcpTargetPort, "s1", "s2")
        + Service("dns", DnsVip, "UDP", 53, UdpTargetPort, "s1", "s2")
        + (withHup ? Service("hup", HupVip, "TCP", 80, TcpTargetPort, "s2") : "");

    /// <summary>A `services:` item; backends are static pods (s1 is 10.244.1.12, s2 10.244.1.13).</summary>
    private static string Service(string name, string vip, string protocol, int port, int targetPort, params string[] backends)
    {
        string endpoints = string.Join(", ", backends.Select(b => FormattableString.Invariant($"{{ ip: 10.244.1.{Array.IndexOf(StaticPods, b) + 11} }}")));
        return FormattableString.Invariant($$"""
              - name: {{name}}
                clusterIP: {{vip}}
                ports: [ { name: p, protocol: {{protocol}}, port: {{port}}, targetPort: {{targetPort}} } ]
                endpoints: [ {{endpoints}} ]

            """);
    }
}
