using System.Runtime.Versioning;
using Dataplane.Tests.Infrastructure;
using Dataplane.Tests.Pipeline;

namespace Dataplane.Tests.EndToEnd;

/// <summary>The README's main command: `dataplane demo` builds a two-node cluster in namespaces and drives every flow.</summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class DemoTests
{
    [RootFact]
    public void Demo_drives_every_flow_through_both_daemons_over_host_gw_and_vxlan_and_leaves_nothing_behind()
    {
        IReadOnlyList<string> before = TestNamespaces.ListNamespaces();

        (int exit, string stdout, string stderr) = ReplayFiles.Cli("demo", "--cni-bin", CniPluginBuild.Publish());

        Assert.True(exit == 0, $"demo failed ({exit}):{Environment.NewLine}{stdout}{stderr}");
        string[] flows =
        [
            "container-to-container", "pod-to-pod (bridged)", "pod-to-gateway", "pod-to-service", "across nodes (host-gw)",
            "pod-to-ClusterIP, backend on node-b", "pod added at run time (CNI plugin)", "6. external to NodePort (Cluster) on node-a",
            "NodePort (Local) on node-b", "LoadBalancer IP", "pod to internet (masquerade)", "node to pod and ClusterIP (host port)",
            "outside to the node's own kernel (host port)", "health check node port (web-local)", "Ingress: host and path, HTTP and HTTPS", "node kernels untouched",
            "across nodes (VXLAN)", "ClusterIP, its backend on node-b (VXLAN)", "NodePort (Cluster) on node-a (VXLAN)",
        ];
        foreach (string flow in flows)
        {
            string line = stdout.Split('\n').Single(l => l.Contains(flow, StringComparison.Ordinal));
            Assert.Matches(@"\sok\s", line);
        }

        // The run-time pod got its address from host-local's range and reached web-1.
        Assert.Matches(@"ADD 10\.244\.1\.1[0-2]\d/24 \(host-local\) into a new netns, ping 10\.244\.1\.11, DEL: .*3 received", stdout);

        // Every backend, on both nodes, answered some of the ClusterIP connections.
        Assert.Matches(@"web-1 \d+, web-2 \d+, web-3 \d+, web-b1 \d+, web-b2 \d+", stdout);

        // What the servers saw: node-a's address behind a Cluster-policy NodePort and for masqueraded egress, the
        // external client's own behind the Local policy.
        Assert.Matches(@"NodePort \(Cluster\) on node-a .*pods saw 192\.168\.77\.10 \(SNAT", stdout);
        Assert.Matches(@"NodePort \(Local\) on node-b .*web-b\d \d+.*pods saw 198\.51\.100\.10 \(client", stdout);
        Assert.Matches(@"internet 3; the server saw 192\.168\.77\.10:\d+", stdout);
        // The node's kernel, through its host port: it reaches pods and services with its own address, the outside
        // reaches its sockets and its ICMP, and the health check answers for web-local, whose pods are on node-b only.
        Assert.Matches(@"from node-a's kernel: web-1 3; .*pods saw 192\.168\.77\.10 \(the node's own address\)", stdout);
        Assert.Matches(@"node-a-kernel 3, it saw 198\.51\.100\.10; ping: 3 packets transmitted, 3 received.*node-a's kernel sent \d+ echo replies", stdout);
        Assert.Matches(@"node-a 503 localEndpoints 0, node-b 200 localEndpoints 2", stdout);
        // The Ingress: by host and path to pods on both nodes, over HTTP/2 with TLS, 404 for an unknown host, and a backend
        // taken out of its EndpointSlice gets no more requests.
        Assert.Matches(@"https /b web-b1 \d+, web-b2 \d+ over HTTP/2; unknown host 404; web-b2 removed from its slice: /b web-b1 6", stdout);

        // Over VXLAN: the pods' MTU leaves room for the tunnel, a full-size packet and a TCP stream cross it.
        Assert.Matches(@"eth0 mtu 1450\): 3 packets transmitted, 3 received.*4000000 bytes arrived", stdout);
        Assert.Matches(@"NodePort \(Cluster\) on node-a \(VXLAN\) .*web-b\d \d+.*VXLAN a->b [1-9]\d* encapsulated", stdout);
        Assert.Matches(@"node-a ip_forward=0, v6 forwarding=0, no bridge, no nft rules; node-b ip_forward=0, v6 forwarding=0, no bridge, no nft rules", stdout);
        Assert.DoesNotContain(TestNamespaces.ListNamespaces(), ns => ns.StartsWith("dpdemo-", StringComparison.Ordinal) && !before.Contains(ns));
    }
}
