using System.Net;
using System.Security.Cryptography;
using Dataplane.Config;
using Dataplane.Io.Netlink;
using Dataplane.Io.Netns;
using Dataplane.Model;

namespace Dataplane.Demo;

/// <summary>
/// The demo's world, all in namespaces it creates (and deletes): a node namespace the daemon runs in, with
/// a veth uplink to a second namespace that plays node-b (its pod 10.244.2.12 lives on its loopback), and
/// the node config for four pods and a ClusterIP service. Names carry a random suffix so demos and tests
/// never collide; nothing touches the host's own interfaces.
/// </summary>
public sealed class DemoTopology : IDisposable
{
    public const string Vip = "10.96.0.10";
    public const int ServicePort = 80;
    public const int TargetPort = 8080;
    public const string RemotePod = "10.244.2.12";
    public static readonly string[] Backends = ["web-1", "web-2", "web-3"];

    private readonly List<string> _namespaces = [];

    public DemoTopology()
    {
        Suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2));
        NodeNamespace = $"dpdemo-node-{Suffix}";
        NodeBNamespace = $"dpdemo-nodeb-{Suffix}";
        try
        {
            Build();
        }
        catch
        {
            Dispose();
            throw;
        }

        Config = NodeConfigLoader.Parse(Yaml(), "built-in demo").ThrowIfInvalid();
    }

    public string Suffix { get; }

    public string NodeNamespace { get; }

    public string NodeBNamespace { get; }

    public NodeConfig Config { get; }

    public string PodNamespace(string pod) => $"dpdemo-{pod}-{Suffix}";

    public string PodIp(string pod) => pod switch
    {
        "client" => "10.244.1.10",
        "web-1" => "10.244.1.11",
        "web-2" => "10.244.1.12",
        _ => "10.244.1.13",
    };

    /// <summary>An empty namespace for a pod the demo attaches at run time (CNI ADD), removed with the rest.</summary>
    public string AddNamespace(string role)
    {
        string name = $"dpdemo-{role}-{Suffix}";
        using NetworkNamespace created = NetworkNamespace.Create(name);
        _namespaces.Add(name);
        return name;
    }

    private void Build()
    {
        using NetworkNamespace node = NetworkNamespace.Create(NodeNamespace);
        _namespaces.Add(NodeNamespace);
        using NetworkNamespace nodeB = NetworkNamespace.Create(NodeBNamespace);
        _namespaces.Add(NodeBNamespace);
        string uplink = "up0";
        node.Run(() =>
        {
            // A new namespace inherits the host's forwarding settings, and a Docker or Kubernetes host forwards:
            // the node's kernel must not, so say so rather than rely on the host (this thread is in the namespace).
            File.WriteAllText("/proc/sys/net/ipv4/ip_forward", "0");
            File.WriteAllText("/proc/sys/net/ipv6/conf/all/forwarding", "0");
            using RtNetlink netlink = RtNetlink.Open(NodeNamespace);
            netlink.CreateVethPair(uplink, "nodeb0", nodeB.Handle);
            netlink.SetLinkUp(netlink.GetLinkIndex(uplink));
            netlink.SetLinkUp(netlink.GetLinkIndex("lo"));
        });
        nodeB.Run(() =>
        {
            using RtNetlink netlink = RtNetlink.Open(NodeBNamespace);
            int link = netlink.GetLinkIndex("nodeb0");
            int lo = netlink.GetLinkIndex("lo");
            netlink.AddAddress(link, IPAddress.Parse("192.168.77.11"), 24);
            netlink.AddAddress(lo, IPAddress.Parse(RemotePod), 32);
            netlink.SetLinkUp(link);
            netlink.SetLinkUp(lo);
            netlink.AddRoute(IPAddress.Parse("10.244.1.0"), 24, IPAddress.Parse("192.168.77.10"), link);
        });
    }

    private string Yaml() => $$"""
        node:
          name: demo-{{Suffix}}
          podCidr: 10.244.1.0/24
          gatewayIp: 10.244.1.1
          mac: 02:00:00:00:01:01
          uplink: { interface: up0, ip: 192.168.77.10/24, mac: 02:00:00:00:77:10 }
        pods:
          - { name: client, ip: {{PodIp("client")}}, mac: 02:00:0a:f4:01:0a, netns: {{PodNamespace("client")}} }
          - { name: web-1, ip: {{PodIp("web-1")}}, mac: 02:00:0a:f4:01:0b, netns: {{PodNamespace("web-1")}} }
          - { name: web-2, ip: {{PodIp("web-2")}}, mac: 02:00:0a:f4:01:0c, netns: {{PodNamespace("web-2")}} }
          - { name: web-3, ip: {{PodIp("web-3")}}, mac: 02:00:0a:f4:01:0d, netns: {{PodNamespace("web-3")}} }
        routes:
          - { cidr: 10.244.2.0/24, via: 192.168.77.11 }
        services:
          - name: web
            clusterIp: {{Vip}}
            ports: [ { name: http, protocol: TCP, port: {{ServicePort}}, targetPort: {{TargetPort}} } ]
            endpoints: [ { ip: {{PodIp("web-1")}} }, { ip: {{PodIp("web-2")}} }, { ip: {{PodIp("web-3")}} } ]
        conntrack: { maxEntries: 65536 }
        dataplane: { controlSocket: /run/dataplane/demo-{{Suffix}}.sock }
        """;

    public void Dispose()
    {
        foreach (string ns in _namespaces)
        {
            NetworkNamespace.Delete(ns);
        }

        _namespaces.Clear();
    }
}
