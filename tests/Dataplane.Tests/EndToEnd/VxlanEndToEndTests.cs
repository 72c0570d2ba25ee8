using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json;
using Dataplane.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// Our node against a peer whose VXLAN is the kernel's: node-b's namespace is programmed exactly as flannel's vxlan
/// backend programs a node (flannel.1: VNI 1, port 8472, 10.244.2.0/32; a route to our pod CIDR via 10.244.1.0 onlink,
/// a permanent neighbor with our VTEP MAC, an fdb entry to our uplink IP), with a pod namespace behind it on a veth as
/// a CNI bridge would give it. Ping and TCP (iperf3) both ways between our pod and node-b's pod.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class VxlanEndToEndTests(ITestOutputHelper output)
{
    private const string OurVtepMac = "0a:58:0a:f4:01:00";
    private const string PeerVtepMac = "0a:58:0a:f4:02:00";
    private const string PeerPodIp = NodeUnderTest.RemotePodIp;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <param name="io">`dataplane.io`: the default read/write transport, or io_uring (segment trains leave through its batched writes).</param>
    [RootTheory]
    [InlineData("syscalls")]
    [InlineData("uring")]
    public async Task Pods_reach_a_flannel_nodes_pods_over_the_kernels_vxlan_both_ways_with_ping_and_tcp(string io)
    {
        using var namespaces = new TestNamespaces();
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions
        {
            Io = io,
            Pods = ["c"],
            Uplink = true,
            NodeExtra = [$"  vxlan: {{ vni: 1, port: 8472, mac: {OurVtepMac} }}"],
            RemoteRoute = $"{{ cidr: {NodeUnderTest.RemotePodCidr}, vtep: {NodeUnderTest.RemoteUplinkIp}, vtepMac: {PeerVtepMac} }}",
        });
        string peer = node.RemoteNamespace!;
        string peerPod = namespaces.Add();
        ProgramFlannelPeer(peer, peerPod);
        PodInfo pod = node.Pod("c");

        // Our pod's MTU is the uplink's less the 50 bytes of VXLAN headers, as flannel gives its pods.
        Assert.Contains("mtu 1450", node.ExecInPod("c", "ip", "link", "show", "eth0").StdOut, StringComparison.Ordinal);

        Poll.Until(() => node.ExecInPod("c", "ping", "-c", "1", "-W", "1", PeerPodIp).ExitCode == 0, s_timeout, "our pod to get a ping reply from node-b's pod over VXLAN");
        ProcessResult ping = node.ExecInPod("c", "ping", "-c", "5", "-i", "0.2", "-W", "2", PeerPodIp);
        Assert.True(ping.ExitCode == 0, $"ping {PeerPodIp}: {ping.StdOut}{ping.StdErr}");
        ProcessResult back = TestNamespaces.Exec(peerPod, "ping", "-c", "5", "-i", "0.2", "-W", "2", pod.Ip);
        Assert.True(back.ExitCode == 0, $"ping {pod.Ip} from node-b's pod: {back.StdOut}{back.StdErr}");
        // A full-size ping (1450-byte packets) fits the tunnel; one byte more is refused with DF by our pod's own MTU.
        ProcessResult big = node.ExecInPod("c", "ping", "-c", "2", "-M", "do", "-s", "1422", "-W", "2", PeerPodIp);
        Assert.True(big.ExitCode == 0, $"1450-byte ping: {big.StdOut}{big.StdErr}");

        double toPeer = await Iperf3Async(node, serverNs: peerPod, clientNs: pod.Netns, PeerPodIp);
        double fromPeer = await Iperf3Async(node, serverNs: pod.Netns, clientNs: peerPod, pod.Ip);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"iperf3 over VXLAN: pod -> flannel node's pod {toPeer:F2} Gbit/s, back {fromPeer:F2} Gbit/s"));

        JsonElement stats = node.CtlJson("stats");
        long decapsulated = NodeUnderTest.Counter(stats, "vxlan-input", "decapsulated");
        long encapsulated = NodeUnderTest.Counter(stats, "vxlan-encap", "encapsulated");
        long segmented = NodeUnderTest.Counter(stats, "vxlan-encap", "super-frames-segmented");
        output.WriteLine($"vxlan-input decapsulated {decapsulated}, vxlan-encap encapsulated {encapsulated}, super-frames segmented {segmented}");
        Assert.True(decapsulated > 1000 && encapsulated > 1000, $"decapsulated {decapsulated}, encapsulated {encapsulated}");
        Assert.True(segmented > 0, "no TCP super-frame was segmented: the pod's TSO did not reach the VXLAN path");
        Assert.Equal(0, NodeUnderTest.Counter(stats, "vxlan-input", "wrong-vni"));
    }

    /// <summary>
    /// The same two pods over host-gw routing (node-b routes our pod CIDR via our uplink IP, we route its CIDR via its
    /// uplink IP): the baseline the VXLAN numbers are compared with in the same run.
    /// </summary>
    [RootFact]
    public async Task Host_gw_baseline_moves_tcp_both_ways_between_the_same_pods()
    {
        using var namespaces = new TestNamespaces();
        using NodeUnderTest node = NodeUnderTest.Start(new NodeOptions { Pods = ["c"], Uplink = true });
        string peer = node.RemoteNamespace!;
        string peerPod = namespaces.Add();
        void In(string ns, params string[] command) => TestNamespaces.Exec(ns, command).EnsureSuccess();
        In(peer, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        In(peerPod, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0");
        In(peer, "ip", "addr", "del", $"{PeerPodIp}/32", "dev", "lo");
        AddPeerPod(peer, peerPod, mtu: 1500);
        PodInfo pod = node.Pod("c");
        Poll.Until(() => node.ExecInPod("c", "ping", "-c", "1", "-W", "1", PeerPodIp).ExitCode == 0, s_timeout, "our pod to get a ping reply from node-b's pod");

        double toPeer = await Iperf3Async(node, serverNs: peerPod, clientNs: pod.Netns, PeerPodIp);
        double fromPeer = await Iperf3Async(node, serverNs: pod.Netns, clientNs: peerPod, pod.Ip);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"iperf3 over host-gw: pod -> node-b's pod {toPeer:F2} Gbit/s, back {fromPeer:F2} Gbit/s"));
    }

    private static void AddPeerPod(string peer, string peerPod, int mtu)
    {
        void In(string ns, params string[] command) => TestNamespaces.Exec(ns, command).EnsureSuccess();
        In(peer, "ip", "link", "add", "cni0", "type", "veth", "peer", "name", "eth0", "netns", peerPod);
        In(peer, "ip", "addr", "add", "10.244.2.1/24", "dev", "cni0");
        In(peer, "ip", "link", "set", "cni0", "up");
        In(peerPod, "ip", "link", "set", "lo", "up");
        In(peerPod, "ip", "addr", "add", $"{PeerPodIp}/24", "dev", "eth0");
        In(peerPod, "ip", "link", "set", "eth0", "mtu", mtu.ToString(CultureInfo.InvariantCulture), "up");
        In(peerPod, "ip", "route", "add", "default", "via", "10.244.2.1");
    }

    /// <summary>
    /// node-b as flannel's vxlan backend leaves it, plus a pod behind a veth (flannel's cni0 bridge reduced to one
    /// veth). gso_max_segs 1 on node-b's uplink makes its kernel segment VXLAN before the veth: our end is a packet
    /// socket, which can take TCP GSO but not UDP-tunnel GSO (the kernel drops such a frame there); a physical NIC
    /// never hands us those.
    /// </summary>
    private static void ProgramFlannelPeer(string peer, string peerPod)
    {
        void In(string ns, params string[] command) => TestNamespaces.Exec(ns, command).EnsureSuccess();
        In(peer, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        In(peerPod, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0");
        // Undo NodeUnderTest's host-gw node-b: the pod address moves into its own namespace, the route goes over VXLAN.
        In(peer, "ip", "addr", "del", $"{PeerPodIp}/32", "dev", "lo");
        In(peer, "ip", "route", "del", NodeUnderTest.PodCidr);
        In(peer, "ip", "link", "set", "eth0", "gso_max_segs", "1");

        In(peer, "ip", "link", "add", "flannel.1", "address", PeerVtepMac, "type", "vxlan", "id", "1", "local", NodeUnderTest.RemoteUplinkIp, "dev", "eth0", "dstport", "8472", "nolearning");
        In(peer, "ip", "link", "set", "flannel.1", "mtu", "1450", "up");
        In(peer, "ip", "addr", "add", "10.244.2.0/32", "dev", "flannel.1");
        In(peer, "ip", "route", "add", NodeUnderTest.PodCidr, "via", "10.244.1.0", "dev", "flannel.1", "onlink");
        In(peer, "ip", "neigh", "replace", "10.244.1.0", "lladdr", OurVtepMac, "dev", "flannel.1", "nud", "permanent");
        In(peer, "bridge", "fdb", "append", OurVtepMac, "dst", NodeUnderTest.UplinkIp, "dev", "flannel.1", "self", "permanent");

        AddPeerPod(peer, peerPod, mtu: 1450);
    }

    /// <summary>iperf3 for 3 s from <paramref name="clientNs"/> to a one-off server in <paramref name="serverNs"/>; Gbit/s received.</summary>
    private static async Task<double> Iperf3Async(NodeUnderTest node, string serverNs, string clientNs, string ip)
    {
        const string port = "5211";
        Task<ProcessResult> server = TestNamespaces.ExecAsync(serverNs, s_timeout, "iperf3", "-s", "-1", "-p", port);
        try
        {
            Poll.Until(() => server.IsCompleted || !string.IsNullOrWhiteSpace(TestNamespaces.Exec(serverNs, "ss", "-Htln", "sport", "= :" + port).StdOut), s_timeout, $"iperf3 to listen in {serverNs}");
            ProcessResult result = await TestNamespaces.ExecAsync(clientNs, s_timeout, "iperf3", "-c", ip, "-p", port, "-t", "3", "-J");
            Assert.True(result.ExitCode == 0, $"iperf3 -c {ip} exited with {result.ExitCode}: {result.StdOut}{result.StdErr}{Environment.NewLine}{node.DaemonOutput()}");
            using JsonDocument json = JsonDocument.Parse(result.StdOut);
            JsonElement received = json.RootElement.GetProperty("end").GetProperty("sum_received");
            Assert.True(received.GetProperty("bytes").GetInt64() > 10_000_000, $"iperf3 to {ip} moved only {received.GetProperty("bytes").GetInt64()} bytes");
            return received.GetProperty("bits_per_second").GetDouble() / 1e9;
        }
        finally
        {
            ProcessResult served = await server;
            Assert.True(served.ExitCode == 0, $"iperf3 server in {serverNs}: {served.StdOut}{served.StdErr}");
        }
    }
}
