using System.Diagnostics;
using Dataplane.Daemon;
using Dataplane.Pipeline;
using Microsoft.Extensions.Logging;

namespace Dataplane.Demo;

/// <summary>One flow the demo drove, and whether it worked.</summary>
public sealed record DemoStep(string Flow, string What, bool Ok, string Detail);

/// <summary>
/// `dataplane demo`: builds a two-node cluster in namespaces (<see cref="DemoTopology"/>), starts a daemon on each
/// node, drives real traffic through every flow with real tools (nc, ping, curl), prints what happened, and removes
/// it all, also when interrupted. A row is ok only when the traffic it names went through and the addresses the
/// servers saw say what NAT did.
/// </summary>
public static class DemoRunner
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <param name="cniBin">Where `dataplane-cni` is (published from src/Dataplane.Cni): the run-time pod's flow uses it.</param>
    public static async Task<int> RunAsync(TextWriter output, ILoggerFactory loggers, string cniBin, CancellationToken cancel)
    {
        output.WriteLine("demo: building a two-node cluster in network namespaces: node-a (pods client, web-1..3) and node-b (web-b1, web-b2),");
        output.WriteLine("      a daemon on each, an underlay switch, a router, an external client and an internet server");
        using var topology = new DemoTopology();
        DemoNode a = topology.NodeA, b = topology.NodeB;
        var servers = DemoTopology.WebPods.Select(p => new PodServer(topology.PodNamespace(p), p, DemoTopology.TargetPort)).ToList();
        servers.Add(new PodServer(topology.InternetNamespace, "internet", DemoTopology.ServicePort));
        // A server of node-a's own kernel (on the kubelet's port), in the node's namespace: reached through the host port.
        servers.Add(new PodServer(a.Namespace, KernelServer, KubeletPort));
        var steps = new List<DemoStep>();
        var summaries = new List<string>();
        NodeDaemon? daemonA = null, daemonB = null;
        try
        {
            // Host-gw: the nodes reach each other's pods at their uplink addresses.
            daemonA = NodeDaemon.Start(a.Config, new DaemonOptions(a.Namespace), loggers);
            daemonB = NodeDaemon.Start(b.Config, new DaemonOptions(b.Namespace), loggers);
            await WaitReadyAsync(output, [daemonA, daemonB], cancel).ConfigureAwait(false);
            steps.Add(await ContainerToContainerAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await PingAsync("2. pod-to-pod (bridged)", topology, "client", DemoTopology.PodIp("web-1"), cancel).ConfigureAwait(false));
            steps.Add(await PingAsync("   pod-to-gateway", topology, "client", "10.244.1.1", cancel).ConfigureAwait(false));
            steps.Add(await ServiceAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await PingAsync("4. pod-to-pod across nodes (host-gw)", topology, "client", DemoTopology.RemotePod, cancel).ConfigureAwait(false));
            steps.Add(await RemoteBackendAsync("   pod-to-ClusterIP, backend on node-b", topology, cancel).ConfigureAwait(false));
            steps.Add(await DemoCniPod.RunAsync(topology, cniBin, daemonA.ControlSocketPath, cancel).ConfigureAwait(false));
            steps.Add(await NodePortClusterAsync("6. external to NodePort (Cluster) on node-a", topology, cancel).ConfigureAwait(false));
            steps.Add(await NodePortLocalAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await LoadBalancerAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await InternetAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await NodeToPodsAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await OutsideToKernelAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await HealthCheckAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await DemoIngress.RunAsync(topology, cancel).ConfigureAwait(false));
            steps.Add(await KernelUntouchedAsync(topology, cancel).ConfigureAwait(false));
            summaries.Add(Summary("host-gw", a, daemonA));
            summaries.Add(Summary("host-gw", b, daemonB));

            // VXLAN: both daemons stop (the pods' namespaces, made by the topology, stay with their servers) and start
            // again with the other node's pods behind its VTEP; the pods' eth0 come back with the tunnel's MTU.
            daemonA.Dispose();
            daemonB.Dispose();
            daemonA = NodeDaemon.Start(a.VxlanConfig, new DaemonOptions(a.Namespace), loggers);
            daemonB = NodeDaemon.Start(b.VxlanConfig, new DaemonOptions(b.Namespace), loggers);
            await WaitReadyAsync(output, [daemonA, daemonB], cancel).ConfigureAwait(false);
            steps.Add(await VxlanPodToPodAsync(topology, daemonA, daemonB, cancel).ConfigureAwait(false));
            steps.Add(await Tunneled(daemonA, daemonB, () => RemoteBackendAsync("   ClusterIP, its backend on node-b (VXLAN)", topology, cancel)).ConfigureAwait(false));
            steps.Add(await Tunneled(daemonA, daemonB, () => NodePortClusterAsync("   NodePort (Cluster) on node-a (VXLAN)", topology, cancel), replyOnUnderlay: true).ConfigureAwait(false));
            summaries.Add(Summary("VXLAN", a, daemonA));
            summaries.Add(Summary("VXLAN", b, daemonB));
        }
        finally
        {
            daemonA?.Dispose();
            daemonB?.Dispose();
            foreach (PodServer server in servers)
            {
                server.Dispose();
            }

            // A stopped daemon leaves pods their eth0 and conntrack its file for a restart; the demo wants none of it.
            foreach (DemoNode node in (DemoNode[])[a, b])
            {
                _ = Dataplane.Daemon.State.NodeCleanup.Run(node.Name, node.Config.StateDirectoryPath, node.Config.ControlSocketPath + ".lock");
            }
        }

        output.WriteLine();
        output.WriteLine($"  {"flow",-46} {"result",-6} detail");
        foreach (DemoStep step in steps)
        {
            output.WriteLine($"  {step.Flow,-46} {(step.Ok ? "ok" : "FAIL"),-6} {step.What}: {step.Detail}");
        }

        foreach (string summary in summaries)
        {
            output.WriteLine();
            output.Write(summary);
        }

        output.WriteLine();
        output.WriteLine("demo: stopped both daemons, removed what they made (dataplane cleanup) and every namespace");
        return steps.All(static s => s.Ok) ? 0 : 1;
    }

    private const string KernelServer = "node-a-kernel";
    private const int KubeletPort = 10250;

    /// <summary>What a daemon's pipeline saw and dropped, by reason.</summary>
    private static string Summary(string phase, DemoNode node, NodeDaemon daemon)
    {
        PipelineStats stats = daemon.Stats();
        var text = new StringWriter();
        text.WriteLine($"  {node.Name} ({phase}): the pipeline saw {stats.Packets} frames and dropped {stats.Drops}; conntrack tracks {daemon.Dataplane.Conntrack.Count} flows");
        foreach (StageStats stage in stats.Stages)
        {
            foreach ((string reason, long count) in stage.Drops.Where(static d => d.Value > 0))
            {
                text.WriteLine($"    {stage.Name}/{reason}: {count}");
            }
        }

        return text.ToString();
    }

    /// <summary>Until both nodes have their pods attached, services programmed and next hops (the other node, the router) resolved.</summary>
    private static async Task WaitReadyAsync(TextWriter output, NodeDaemon[] daemons, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + Timeout;
        List<string> reasons;
        while ((reasons = [.. daemons.SelectMany(static d => d.NotReadyReasons().Select(r => $"{d.Config.Node.Name}: {r}"))]).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, cancel).ConfigureAwait(false);
        }

        if (reasons.Count > 0)
        {
            output.WriteLine($"demo: not ready after {Timeout.TotalSeconds:0} s, going on: {string.Join("; ", reasons)}");
        }
    }

    /// <summary>Two processes in the client pod talking over its loopback: the pod's own stack, no dataplane involved.</summary>
    private static async Task<DemoStep> ContainerToContainerAsync(DemoTopology topology, CancellationToken cancel)
    {
        const string Flow = "1. container-to-container (localhost)";
        string ns = topology.PodNamespace("client");
        using Process server = Start("ip", "netns", "exec", ns, "nc", "-l", "127.0.0.1", "9000");
        string sent = $"hello from container A {Environment.ProcessId}";
        // nc -l may not be listening yet: retry the client until the deadline.
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline && !server.HasExited)
        {
            (int code, _) = await RunAsync(cancel, "ip", "netns", "exec", ns, "sh", "-c", $"echo '{sent}' | nc -N 127.0.0.1 9000").ConfigureAwait(false);
            if (code == 0)
            {
                break;
            }

            await Task.Delay(100, cancel).ConfigureAwait(false);
        }

        string received = (await ReadToEndAsync(server, cancel).ConfigureAwait(false)).Trim();
        return new DemoStep(Flow, "nc -l and nc in pod client", received == sent, received == sent ? "message received over 127.0.0.1" : $"got '{received}'");
    }

    private static async Task<DemoStep> PingAsync(string flow, DemoTopology topology, string pod, string target, CancellationToken cancel)
    {
        (int code, string text) = await RunAsync(cancel, "ip", "netns", "exec", topology.PodNamespace(pod), "ping", "-c", "3", "-i", "0.2", "-W", "2", target).ConfigureAwait(false);
        string summary = text.Split('\n').FirstOrDefault(static l => l.Contains("received", StringComparison.Ordinal))?.Trim() ?? text.Trim();
        return new DemoStep(flow, $"ping {target} from {pod}", code == 0, summary);
    }

    /// <summary>Connections to the ClusterIP of `web`, whose pods run on both nodes; each answer names the pod that served it.</summary>
    private static async Task<DemoStep> ServiceAsync(DemoTopology topology, CancellationToken cancel)
    {
        const int Connections = 40;
        Answers answers = await CurlAsync(topology.PodNamespace("client"), DemoTopology.WebVip, DemoTopology.ServicePort, Connections, cancel).ConfigureAwait(false);
        bool ok = answers.Failed == 0 && DemoTopology.WebPods.All(p => answers.Served.ContainsKey(p));
        return new DemoStep("3. pod-to-service (ClusterIP, DNAT + un-NAT)", $"curl x{Connections} {DemoTopology.WebVip}:{DemoTopology.ServicePort} from client",
            ok, answers.Spread());
    }

    /// <summary>A ClusterIP whose only backend runs on node-b: DNAT on node-a, routed to node-b, the pod's address kept.</summary>
    private static async Task<DemoStep> RemoteBackendAsync(string flow, DemoTopology topology, CancellationToken cancel)
    {
        const int Connections = 5;
        Answers answers = await CurlAsync(topology.PodNamespace("client"), DemoTopology.RemoteVip, DemoTopology.ServicePort, Connections, cancel).ConfigureAwait(false);
        string client = DemoTopology.PodIp("client");
        bool ok = answers.Failed == 0 && answers.Served.Keys.SequenceEqual(["web-b2"]) && answers.Peers.SequenceEqual([client]);
        return new DemoStep(flow, $"curl x{Connections} {DemoTopology.RemoteVip}:{DemoTopology.ServicePort} (service web-b) from client",
            ok, $"{answers.Spread()}; the pod saw {answers.PeerList()} (the client pod, not NATed)");
    }

    /// <summary>From outside to node-a's node port under the Cluster policy: pods on both nodes answer, each sees node-a's address.</summary>
    private static async Task<DemoStep> NodePortClusterAsync(string flow, DemoTopology topology, CancellationToken cancel)
    {
        const int Connections = 20;
        DemoNode a = topology.NodeA;
        Answers answers = await CurlAsync(topology.ExternalNamespace, a.UplinkIp, DemoTopology.WebNodePort, Connections, cancel).ConfigureAwait(false);
        bool bothNodes = topology.Nodes.All(n => answers.Served.Keys.Any(p => topology.NodeOf(p) == n));
        bool ok = answers.Failed == 0 && bothNodes && answers.Peers.SequenceEqual([a.UplinkIp]);
        return new DemoStep(flow, $"curl x{Connections} {a.UplinkIp}:{DemoTopology.WebNodePort} from {DemoTopology.ExternalClientIp}",
            ok, $"{answers.Spread()}; pods saw {answers.PeerList()} (SNAT to node-a{(bothNodes ? "" : "; pods of one node only!")})");
    }

    /// <summary>From outside to node-b's node port under the Local policy: only node-b's pods answer, and they see the client.</summary>
    private static async Task<DemoStep> NodePortLocalAsync(DemoTopology topology, CancellationToken cancel)
    {
        const int Connections = 10;
        DemoNode b = topology.NodeB;
        Answers answers = await CurlAsync(topology.ExternalNamespace, b.UplinkIp, DemoTopology.LocalNodePort, Connections, cancel).ConfigureAwait(false);
        bool ok = answers.Failed == 0 && answers.Served.Count > 0 && answers.Served.Keys.All(p => topology.NodeOf(p) == b)
            && answers.Peers.SequenceEqual([DemoTopology.ExternalClientIp]);
        return new DemoStep("7. external to NodePort (Local) on node-b", $"curl x{Connections} {b.UplinkIp}:{DemoTopology.LocalNodePort} from {DemoTopology.ExternalClientIp}",
            ok, $"{answers.Spread()}; pods saw {answers.PeerList()} (client address kept)");
    }

    /// <summary>From outside to the load-balancer IP: the router finds it by ARP, a node answers, its local pods serve.</summary>
    private static async Task<DemoStep> LoadBalancerAsync(DemoTopology topology, CancellationToken cancel)
    {
        const int Connections = 10;
        Answers answers = await CurlAsync(topology.ExternalNamespace, DemoTopology.LoadBalancerIp, DemoTopology.ServicePort, Connections, cancel).ConfigureAwait(false);
        (_, string neighbor) = await RunAsync(cancel, "ip", "-n", topology.RouterNamespace, "neigh", "show", DemoTopology.LoadBalancerIp).ConfigureAwait(false);
        DemoNode? announcer = topology.Nodes.FirstOrDefault(n => neighbor.Contains($"lladdr {n.UplinkMac}", StringComparison.OrdinalIgnoreCase));
        bool ok = answers.Failed == 0 && announcer is not null && answers.Served.Count > 0 && answers.Served.Keys.All(p => topology.NodeOf(p) == announcer)
            && answers.Peers.SequenceEqual([DemoTopology.ExternalClientIp]);
        string arp = announcer is null ? $"the router's neighbor entry: '{neighbor.Trim()}'" : $"the router's ARP answered by {announcer.Name} ({announcer.UplinkMac})";
        return new DemoStep("8. external to LoadBalancer IP", $"curl x{Connections} {DemoTopology.LoadBalancerIp}:{DemoTopology.ServicePort} (web-local) from {DemoTopology.ExternalClientIp}",
            ok, $"{arp}; {answers.Spread()}; pods saw {answers.PeerList()}");
    }

    /// <summary>A pod on node-a to a server outside the cluster: it leaves with node-a's address (the router knows no pod routes).</summary>
    private static async Task<DemoStep> InternetAsync(DemoTopology topology, CancellationToken cancel)
    {
        const int Connections = 3;
        Answers answers = await CurlAsync(topology.PodNamespace("client"), DemoTopology.InternetIp, DemoTopology.ServicePort, Connections, cancel).ConfigureAwait(false);
        bool ok = answers.Failed == 0 && answers.Served.Keys.SequenceEqual(["internet"]) && answers.Peers.SequenceEqual([topology.NodeA.UplinkIp]);
        return new DemoStep("9. pod to internet (masquerade)", $"curl x{Connections} {DemoTopology.InternetIp}:{DemoTopology.ServicePort} from client",
            ok, $"{answers.Spread()}; the server saw {string.Join(", ", answers.RawPeers)}");
    }

    /// <summary>
    /// node-a's own kernel (from its namespace, through its host port) to a pod on node-a and to the ClusterIP of `web`:
    /// pods on both nodes answer, and they see the node's address (the kernel's traffic is never masqueraded).
    /// </summary>
    private static async Task<DemoStep> NodeToPodsAsync(DemoTopology topology, CancellationToken cancel)
    {
        const int Connections = 20;
        DemoNode a = topology.NodeA;
        string web1 = DemoTopology.PodIp("web-1");
        Answers pod = await CurlAsync(a.Namespace, web1, DemoTopology.TargetPort, 3, cancel).ConfigureAwait(false);
        Answers service = await CurlAsync(a.Namespace, DemoTopology.WebVip, DemoTopology.ServicePort, Connections, cancel).ConfigureAwait(false);
        bool bothNodes = topology.Nodes.All(n => service.Served.Keys.Any(p => topology.NodeOf(p) == n));
        bool ok = pod.Failed == 0 && pod.Served.Keys.SequenceEqual(["web-1"]) && service.Failed == 0 && bothNodes
            && pod.Peers.Concat(service.Peers).Distinct().SequenceEqual([a.UplinkIp]);
        return new DemoStep("10. node to pod and ClusterIP (host port)", $"curl x3 {web1}:{DemoTopology.TargetPort} and x{Connections} {DemoTopology.WebVip}:{DemoTopology.ServicePort} from node-a's kernel",
            ok, $"{pod.Spread()}; {service.Spread()}; pods saw {string.Join(", ", pod.Peers.Concat(service.Peers).Distinct())} (the node's own address)");
    }

    /// <summary>
    /// The outside to node-a's own kernel through its host port: a TCP server in node-a's namespace (on the kubelet's
    /// port) answers the external client and sees its address; the router's pings are answered by the kernel (its ICMP
    /// counters say so: the dataplane would answer them itself without a host port).
    /// </summary>
    private static async Task<DemoStep> OutsideToKernelAsync(DemoTopology topology, CancellationToken cancel)
    {
        DemoNode a = topology.NodeA;
        Answers answers = await CurlAsync(topology.ExternalNamespace, a.UplinkIp, KubeletPort, 3, cancel).ConfigureAwait(false);
        long before = await EchoRepliesAsync(a.Namespace, cancel).ConfigureAwait(false);
        (int code, string text) = await RunAsync(cancel, "ip", "netns", "exec", topology.RouterNamespace, "ping", "-c", "3", "-i", "0.2", "-W", "2", a.UplinkIp).ConfigureAwait(false);
        long replies = await EchoRepliesAsync(a.Namespace, cancel).ConfigureAwait(false) - before;
        string summary = text.Split('\n').FirstOrDefault(static l => l.Contains("received", StringComparison.Ordinal))?.Trim() ?? text.Trim();
        bool ok = answers.Failed == 0 && answers.Served.Keys.SequenceEqual([KernelServer]) && answers.Peers.SequenceEqual([DemoTopology.ExternalClientIp])
            && code == 0 && replies >= 3;
        return new DemoStep("11. outside to the node's own kernel (host port)", $"curl x3 {a.UplinkIp}:{KubeletPort} from {DemoTopology.ExternalClientIp}, ping from the router",
            ok, $"{answers.Spread()}, it saw {answers.PeerList()}; ping: {summary}, node-a's kernel sent {replies} echo replies");
    }

    /// <summary>The kernel's ICMP OutEchoReps in <paramref name="netns"/> (/proc/net/snmp is the reader's namespace's).</summary>
    private static async Task<long> EchoRepliesAsync(string netns, CancellationToken cancel)
    {
        (_, string snmp) = await RunAsync(cancel, "ip", "netns", "exec", netns, "cat", "/proc/net/snmp").ConfigureAwait(false);
        string[][] icmp = [.. snmp.Split('\n').Where(static l => l.StartsWith("Icmp: ", StringComparison.Ordinal)).Select(static l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))];
        int column = icmp.Length == 2 ? Array.IndexOf(icmp[0], "OutEchoReps") : -1;
        return column > 0 && long.TryParse(icmp[1][column], out long value) ? value : -1;
    }

    /// <summary>
    /// web-local's healthCheckNodePort on each node, asked from outside as a cloud balancer would: the daemon serves it
    /// from the node's namespace, reached through the host port; 200 where the node has pods of the service, else 503.
    /// </summary>
    private static async Task<DemoStep> HealthCheckAsync(DemoTopology topology, CancellationToken cancel)
    {
        bool ok = true;
        var details = new List<string>();
        foreach (DemoNode node in topology.Nodes)
        {
            (_, string text) = await RunAsync(cancel, "ip", "netns", "exec", topology.ExternalNamespace, "curl", "-sS", "--connect-timeout", "2", "-m", "3",
                "-w", " %{http_code}", $"http://{node.UplinkIp}:{DemoTopology.HealthCheckNodePort}/").ConfigureAwait(false);
            System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(text, @"""localEndpoints"":(\d+).* (\d{3})$", System.Text.RegularExpressions.RegexOptions.Singleline);
            int local = node.Pods.Count(p => p.StartsWith("web-b", StringComparison.Ordinal));
            string expected = local > 0 ? "200" : "503";
            bool nodeOk = m.Success && m.Groups[2].Value == expected && m.Groups[1].Value == local.ToString(System.Globalization.CultureInfo.InvariantCulture);
            ok &= nodeOk;
            details.Add(m.Success ? $"{node.Name} {m.Groups[2].Value} localEndpoints {m.Groups[1].Value}" : $"{node.Name}: '{text.Trim()}'");
        }

        return new DemoStep("12. health check node port (web-local)", $"curl {topology.NodeA.UplinkIp}:{DemoTopology.HealthCheckNodePort} and {topology.NodeB.UplinkIp}:{DemoTopology.HealthCheckNodePort} from {DemoTopology.ExternalClientIp}",
            ok, string.Join(", ", details));
    }

    /// <summary>
    /// Over VXLAN: the client pod's eth0 has the tunnel's MTU (1500 - 50), a ping that fills it without fragmenting
    /// crosses, and 4 MB of TCP (the pod's TSO super-frames cut into tunnel-sized segments by vxlan-encap) arrive whole.
    /// </summary>
    private static async Task<DemoStep> VxlanPodToPodAsync(DemoTopology topology, NodeDaemon daemonA, NodeDaemon daemonB, CancellationToken cancel)
    {
        const int Bytes = 4_000_000;
        const int Port = 9001;
        string client = topology.PodNamespace("client");
        string remote = DemoTopology.RemotePod;
        (_, string link) = await RunAsync(cancel, "ip", "-n", client, "-o", "link", "show", "eth0").ConfigureAwait(false);
        System.Text.RegularExpressions.Match mtuMatch = System.Text.RegularExpressions.Regex.Match(link, @" mtu (\d+) ");
        int mtu = mtuMatch.Success ? int.Parse(mtuMatch.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        long segmentedBefore = Counter(daemonA, "vxlan-encap", "super-frames-segmented");
        return await Tunneled(daemonA, daemonB, Drive).ConfigureAwait(false);

        async Task<DemoStep> Drive()
        {
            // A full-size ping with DF: 20 bytes of IP and 8 of ICMP around the payload fill the pod's MTU exactly.
            (int pingCode, string ping) = await RunAsync(cancel, "ip", "netns", "exec", client, "ping", "-c", "3", "-i", "0.2", "-W", "2", "-M", "do",
                "-s", (mtu - 28).ToString(System.Globalization.CultureInfo.InvariantCulture), remote).ConfigureAwait(false);
            string summary = ping.Split('\n').FirstOrDefault(static l => l.Contains("received", StringComparison.Ordinal))?.Trim() ?? ping.Trim();
            using Process server = Start("ip", "netns", "exec", topology.PodNamespace("web-b2"), "sh", "-c", $"nc -l {Port} | wc -c");
            var deadline = DateTime.UtcNow + Timeout;
            while (DateTime.UtcNow < deadline && !server.HasExited)
            {
                (int code, _) = await RunAsync(cancel, "ip", "netns", "exec", client, "sh", "-c", $"head -c {Bytes} /dev/zero | nc -N {remote} {Port}").ConfigureAwait(false);
                if (code == 0)
                {
                    break;
                }

                await Task.Delay(100, cancel).ConfigureAwait(false);
            }

            string received = (await ReadToEndAsync(server, cancel).ConfigureAwait(false)).Trim();
            long segmented = Counter(daemonA, "vxlan-encap", "super-frames-segmented") - segmentedBefore;
            bool ok = mtu == 1450 && pingCode == 0 && received == Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return new DemoStep("14. pod-to-pod across nodes (VXLAN)", $"ping -M do -s {mtu - 28} {remote} and {Bytes / 1_000_000} MB over TCP from client (eth0 mtu {mtu})",
                ok, $"{summary}; {received} bytes arrived ({segmented} TCP super-frames segmented by vxlan-encap)");
        }
    }

    /// <summary>
    /// Runs a cross-node row and adds to it what the tunnel counted meanwhile: packets node-a encapsulated and node-b
    /// decapsulated, and back. The row is ok only if the traffic went through VXLAN, both ways unless
    /// <paramref name="replyOnUnderlay"/>: a pod's reply to node-a's own address (a NodePort client SNATed to it) is
    /// not for a pod CIDR, so node-b sends it on the uplink subnet, straight to node-a.
    /// </summary>
    private static async Task<DemoStep> Tunneled(NodeDaemon daemonA, NodeDaemon daemonB, Func<Task<DemoStep>> row, bool replyOnUnderlay = false)
    {
        long[] before = [Counter(daemonA, "vxlan-encap", "encapsulated"), Counter(daemonB, "vxlan-input", "decapsulated"),
            Counter(daemonB, "vxlan-encap", "encapsulated"), Counter(daemonA, "vxlan-input", "decapsulated")];
        DemoStep step = await row().ConfigureAwait(false);
        long[] after = [Counter(daemonA, "vxlan-encap", "encapsulated"), Counter(daemonB, "vxlan-input", "decapsulated"),
            Counter(daemonB, "vxlan-encap", "encapsulated"), Counter(daemonA, "vxlan-input", "decapsulated")];
        long[] delta = [.. after.Zip(before, static (x, y) => x - y)];
        return step with
        {
            Ok = step.Ok && delta[0] > 0 && delta[1] > 0 && (replyOnUnderlay || (delta[2] > 0 && delta[3] > 0)),
            Detail = $"{step.Detail}; VXLAN a->b {delta[0]} encapsulated / {delta[1]} decapsulated, b->a {delta[2]} / {delta[3]}"
                + (replyOnUnderlay ? " (replies to node-a's address take the underlay)" : ""),
        };
    }

    private static long Counter(NodeDaemon daemon, string stage, string counter)
    {
        StageStats? s = daemon.Stats().Stages.FirstOrDefault(x => x.Name == stage);
        return s is null ? -1 : s.Events.GetValueOrDefault(counter, s.Drops.GetValueOrDefault(counter, -1));
    }

    /// <summary>Neither node's kernel did any of the work: no forwarding, no bridge, no nftables/iptables rules in its namespace.</summary>
    private static async Task<DemoStep> KernelUntouchedAsync(DemoTopology topology, CancellationToken cancel)
    {
        bool ok = true;
        var details = new List<string>();
        foreach (DemoNode node in topology.Nodes)
        {
            string ns = node.Namespace;
            (_, string forward) = await RunAsync(cancel, "ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding").ConfigureAwait(false);
            (_, string bridges) = await RunAsync(cancel, "ip", "-n", ns, "link", "show", "type", "bridge").ConfigureAwait(false);
            (int nftCode, string rules) = await RunAsync(cancel, "ip", "netns", "exec", ns, "nft", "list", "ruleset").ConfigureAwait(false);
            string[] values = forward.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            bool nodeOk = values.SequenceEqual(["0", "0"]) && bridges.Trim().Length == 0 && nftCode == 0 && rules.Trim().Length == 0;
            ok &= nodeOk;
            string rulesText = nftCode != 0 ? $"nft failed: {rules.Trim()}" : rules.Trim().Length == 0 ? "no nft rules" : "nft rules exist!";
            details.Add($"{node.Name} ip_forward={values.ElementAtOrDefault(0)}, v6 forwarding={values.ElementAtOrDefault(1)}, "
                + $"{(bridges.Trim().Length == 0 ? "no bridge" : "a bridge exists!")}, {rulesText}");
        }

        return new DemoStep("   node kernels untouched", "node namespaces", ok, string.Join("; ", details));
    }

    /// <summary>What the servers answered to a run of connections: who served how many, and the peer addresses they saw.</summary>
    private sealed record Answers(SortedDictionary<string, int> Served, List<string> RawPeers, int Failed, string Errors)
    {
        /// <summary>The distinct peer addresses (without ports), in order.</summary>
        public IEnumerable<string> Peers => RawPeers.Select(PodServer.PeerAddress).Distinct().Order(StringComparer.Ordinal);

        public string PeerList() => Peers.Any() ? string.Join(", ", Peers) : "nothing";

        public string Spread() => string.Join(", ", Served.Select(static s => $"{s.Key} {s.Value}"))
            + (Failed > 0 ? $"{(Served.Count > 0 ? ", " : "")}{Failed} failed{(Errors.Length > 0 ? $" ({Errors})" : "")}" : "");
    }

    /// <summary><paramref name="count"/> HTTP requests with curl from <paramref name="netns"/>, each on a new connection (the server closes it).</summary>
    private static async Task<Answers> CurlAsync(string netns, string address, int port, int count, CancellationToken cancel)
    {
        (_, string text) = await RunAsync(cancel, "ip", "netns", "exec", netns, "curl", "-sS", "--connect-timeout", "2", "-m", "3",
            $"http://{address}:{port}/[1-{count}]").ConfigureAwait(false);
        var served = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var peers = new List<string>();
        var errors = new List<string>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (PodServer.TryParse(line, out string name, out string peer))
            {
                served[name] = served.GetValueOrDefault(name) + 1;
                peers.Add(peer);
            }
            else
            {
                errors.Add(line);
            }
        }

        return new Answers(served, peers, count - peers.Count, string.Join("; ", errors.Distinct().Take(2)));
    }

    private static Process Start(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
    }

    private static async Task<string> ReadToEndAsync(Process process, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(Timeout);
        try
        {
            string text = await process.StandardOutput.ReadToEndAsync(timeout.Token).ConfigureAwait(false);
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            return text;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return "";
        }
    }

    internal static async Task<(int ExitCode, string Output)> RunAsync(CancellationToken cancel, string file, params string[] args)
    {
        try
        {
            using Process process = Start(file, args);
            string text = await ReadToEndAsync(process, cancel).ConfigureAwait(false);
            return (process.HasExited ? process.ExitCode : -1, text + await process.StandardError.ReadToEndAsync(cancel).ConfigureAwait(false));
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, $"{file}: {ex.Message} (scripts/setup.sh installs the demo's tools)");
        }
    }
}
