using System.Text.Json;
using System.Text.RegularExpressions;
using Dataplane.Tests.Io;
using static Dataplane.Tests.Pipeline.TestNode;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// `dataplane replay --objects`: a cluster's Services, EndpointSlices and Nodes, as kubectl prints them, programmed
/// before the first frame as the daemon programs them; and the mistakes it refuses, through the CLI.
/// </summary>
[Trait("Category", "replay")]
public sealed class ReplayObjectsTests
{
    private const string NodeDIp = "192.168.77.13";

    /// <summary>Pods and an uplink, no services; <paramref name="node"/> replaces the node's name, pod CIDR and gateway.</summary>
    private static string NodeYaml(string node = $"  name: node-a\n  podCidr: 10.244.1.0/24\n  gatewayIp: {GatewayIp}\n", string services = "") => $$"""
        node:
        {{node}}  mac: {{GatewayMac}}
          uplink: { interface: up0, ip: {{UplinkIp}}/24, mac: {{UplinkMac}} }
        pods:
          - { name: web-1, ip: {{Web1Ip}}, mac: {{Web1Mac}} }
          - { name: client, ip: {{ClientIp}}, mac: {{ClientMac}} }
        {{services}}
        """;

    /// <summary>
    /// `kubectl get svc,endpointslices,nodes -A -o yaml` of a cluster where service shop/web (10.96.0.10, port 80)
    /// is backed by web-1's port 8080 on node-a, and node-d holds 10.244.4.0/24.
    /// </summary>
    private const string Objects = $$"""
        apiVersion: v1
        items:
        - apiVersion: v1
          kind: Service
          metadata:
            name: web
            namespace: shop
            resourceVersion: "4121"
            uid: 6c1f0a52-9e3b-4d7a-8f20-3b5e7c9d1a44
          spec:
            clusterIP: {{Vip}}
            clusterIPs:
            - {{Vip}}
            internalTrafficPolicy: Cluster
            ipFamilies:
            - IPv4
            ipFamilyPolicy: SingleStack
            ports:
            - name: http
              port: 80
              protocol: TCP
              targetPort: http
            selector:
              app: web
            sessionAffinity: None
            type: ClusterIP
          status:
            loadBalancer: {}
        - addressType: IPv4
          apiVersion: discovery.k8s.io/v1
          endpoints:
          - addresses:
            - {{Web1Ip}}
            conditions:
              ready: true
              serving: true
              terminating: false
            nodeName: node-a
            targetRef:
              kind: Pod
              name: web-1
              namespace: shop
          kind: EndpointSlice
          metadata:
            labels:
              endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
              kubernetes.io/service-name: web
            name: web-4xk9p
            namespace: shop
            resourceVersion: "4130"
          ports:
          - name: http
            port: 8080
            protocol: TCP
        - apiVersion: v1
          kind: Node
          metadata:
            name: node-a
          spec:
            podCIDR: 10.244.1.0/24
            podCIDRs:
            - 10.244.1.0/24
          status:
            addresses:
            - address: {{UplinkIp}}
              type: InternalIP
            - address: node-a
              type: Hostname
        - apiVersion: v1
          kind: Node
          metadata:
            name: node-d
          spec:
            podCIDR: 10.244.4.0/24
            podCIDRs:
            - 10.244.4.0/24
          status:
            addresses:
            - address: {{NodeDIp}}
              type: InternalIP
        kind: List
        metadata:
          resourceVersion: ""
        """;

    private static readonly byte[] s_synToVip = Frames.Tcp4(ClientMac, GatewayMac, ClientIp, Vip, 40000, 80, syn: true);

    private static readonly byte[] s_toNodeD = Frames.Udp4(ClientMac, GatewayMac, ClientIp, "10.244.4.5", 5000, 6000);

    private static (string Config, string Objects, string Pcap) Write(TempDirectory dir, string config, string objects = Objects)
    {
        string configPath = dir.File("node.yaml");
        string objectsPath = dir.File("objects.yaml");
        string pcap = dir.File("client.pcap");
        File.WriteAllText(configPath, config);
        File.WriteAllText(objectsPath, objects);
        ReplayFiles.WritePcap(pcap, [(PipelineHarness.T0, s_synToVip), (PipelineHarness.T0 + 1_000_000, s_toNodeD)]);
        return (configPath, objectsPath, pcap);
    }

    /// <summary>web-1.pcap holds the SYN DNATed to web-1:8080, and node-d's route sent its packet to the uplink (first an ARP for node-d).</summary>
    private static void AssertProgrammedFromObjects(string outDir)
    {
        Assert.True(File.Exists(Path.Combine(outDir, "web-1.pcap")), "web-1 sent nothing: shop/web was not programmed from --objects");
        Assert.True(File.Exists(Path.Combine(outDir, "uplink.pcap")), "the uplink sent nothing: node-d's route was not programmed from --objects");
        List<(long Timestamp, byte[] Frame)> web1 = ReplayFiles.ReadPcap(Path.Combine(outDir, "web-1.pcap"));
        FrameAssert.SameBytes(Frames.Tcp4(GatewayMac, Web1Mac, ClientIp, Web1Ip, 40000, 8080, syn: true, ttl: 63), Assert.Single(web1).Frame, "SYN DNATed to web-1");

        List<(long Timestamp, byte[] Frame)> uplink = ReplayFiles.ReadPcap(Path.Combine(outDir, "uplink.pcap"));
        var arp = Frames.Parse(Assert.Single(uplink).Frame).Extract<PacketDotNet.ArpPacket>();
        Assert.NotNull(arp);
        Assert.Equal(PacketDotNet.ArpOperation.Request, arp.Operation);
        Assert.Equal(System.Net.IPAddress.Parse(NodeDIp), arp.TargetProtocolAddress);
        Assert.False(File.Exists(Path.Combine(outDir, "client.pcap")), "the client heard back (no route to node-d, or no service)");
    }

    [Fact]
    public void Replay_with_objects_dnats_to_the_slices_endpoint_and_routes_to_other_nodes()
    {
        using var dir = new TempDirectory();
        (string config, string objects, string pcap) = Write(dir, NodeYaml());
        string outDir = dir.File("out");

        (int exit, string stdout, string stderr) = ReplayFiles.Cli("replay", "--config", config, "--objects", objects, "--in", $"client={pcap}", "--out", outDir);

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        Assert.Equal("", stderr);
        Assert.Contains("node node-a: replayed 2 frames from 1 file(s)", stdout);
        AssertProgrammedFromObjects(outDir);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        JsonElement conntrack = summary.RootElement.GetProperty("stats").GetProperty("stages").EnumerateArray().Single(static s => s.GetProperty("name").GetString() == "conntrack");
        Assert.Equal(1, conntrack.GetProperty("events").GetProperty("service-flows").GetInt64());
    }

    [Fact]
    public void Replay_with_objects_and_services_in_the_config_exits_2_with_one_line()
    {
        using var dir = new TempDirectory();
        (string config, string objects, string pcap) = Write(dir, NodeYaml(services: "services:\n" + TestConfigs.OneBackendServices));

        (int exit, string stdout, string stderr) = ReplayFiles.Cli("replay", "--config", config, "--objects", objects, "--in", $"client={pcap}", "--out", dir.File("out"));

        Assert.Equal(2, exit);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"{config}: services: come from --objects here; remove them from the config (or drop --objects)", line.TrimEnd('\r'));
        Assert.False(Directory.Exists(dir.File("out")), "nothing may be written");
        Assert.Equal("", stdout);
    }

    [Fact]
    public void Replay_with_an_objects_file_that_is_not_yaml_exits_2_naming_file_line_and_column()
    {
        using var dir = new TempDirectory();
        string broken = Objects.Replace("    name: web-4xk9p\n", "    name: [web-4xk9p\n", StringComparison.Ordinal);
        Assert.NotEqual(Objects, broken);
        (string config, string objects, string pcap) = Write(dir, NodeYaml(), broken);

        (int exit, string stdout, string stderr) = ReplayFiles.Cli("replay", "--config", config, "--objects", objects, "--in", $"client={pcap}", "--out", dir.File("out"));

        Assert.Equal(2, exit);
        Assert.Matches($@"{Regex.Escape(objects)}:\d+:\d+: not YAML or JSON: ", stderr);
        Assert.Contains($"{objects}: the objects file has errors; nothing was replayed", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(Directory.Exists(dir.File("out")), "nothing may be written");
        Assert.Equal("", stdout);
    }

    [Fact]
    public void Node_name_takes_the_pod_cidr_the_config_leaves_out_from_its_node_object()
    {
        using var dir = new TempDirectory();
        (string config, string objects, string pcap) = Write(dir, NodeYaml(node: ""));

        // Without it, the config lacks node.name and node.podCidr.
        (int bare, _, string bareErrors) = ReplayFiles.Cli("replay", "--config", config, "--objects", objects, "--in", $"client={pcap}", "--out", dir.File("bare"));
        Assert.Equal(2, bare);
        Assert.Contains("podCidr", bareErrors);

        string outDir = dir.File("out");
        (int exit, string stdout, string stderr) = ReplayFiles.Cli(
            "replay", "--config", config, "--objects", objects, "--node-name", "node-a", "--in", $"client={pcap}", "--out", outDir);

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        Assert.Equal("", stderr);
        Assert.Contains("node node-a: replayed 2 frames", stdout);
        AssertProgrammedFromObjects(outDir);
    }
}
