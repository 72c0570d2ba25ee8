using System.Diagnostics;
using System.Security.Cryptography;
using Dataplane.Config;
using Dataplane.Io.Netns;
using Dataplane.Model;

namespace Dataplane.Demo;

/// <summary>One node of the demo's cluster: its namespace (where its daemon's uplink lives), addresses and pods.</summary>
/// <param name="Config">Its node.yaml with a host-gw route to the other node's pods.</param>
/// <param name="VxlanConfig">The same node with that route over VXLAN instead.</param>
public sealed record DemoNode(string Name, int Index, string Namespace, string UplinkIp, string UplinkMac, IReadOnlyList<string> Pods, NodeConfig Config, NodeConfig VxlanConfig)
{
    public string PodCidr => $"10.244.{Index}.0/24";
}

/// <summary>
/// The demo's cluster, all in namespaces it creates (and deletes), named with a random suffix so demos and tests
/// never collide; nothing touches the host's own interfaces and no packet leaves these namespaces:
/// <code>
///   pods client, web-1..3          pods web-b1, web-b2
///   (10.244.1.0/24)                (10.244.2.0/24)
///        | TAPs                         | TAPs
///   node-a: daemon A -- dp-host    node-b: daemon B -- dp-host  each node namespace: ip_forward 0, no address on
///        | up0 192.168.77.10            | up0 192.168.77.11     up0 (the daemon owns it through a raw socket); the
///        |                              |                       kernel's is on the host port dp-host (a TAP), /32
///   =====+============ underlay: bridge br0 (the physical switch) 192.168.77.0/24 =====+====
///                                                                                      | 192.168.77.1
///                                                                  router (ip_forward 1, the only one)
///                                                198.51.100.1 |                       | 203.0.113.1
///                                    external client 198.51.100.10       internet server 203.0.113.10
/// </code>
/// Both daemons get the same services, as kube-proxy does on every node (<see cref="ServicesYaml"/>). The nodes
/// reach each other's pods by host-gw routes (<see cref="DemoNode.Config"/>) or over VXLAN
/// (<see cref="DemoNode.VxlanConfig"/>), and the outside through the router, their uplink's gateway.
/// </summary>
public sealed class DemoTopology : IDisposable
{
    public const string WebVip = "10.96.0.10";
    public const string LocalVip = "10.96.0.11";
    public const string RemoteVip = "10.96.0.12";
    public const int ServicePort = 80;
    public const int TargetPort = 8080;
    public const int WebNodePort = 30080;
    public const int LocalNodePort = 30081;
    public const string LoadBalancerIp = "192.168.77.100";
    public const string RouterIp = "192.168.77.1";
    public const string ExternalClientIp = "198.51.100.10";
    public const string InternetIp = "203.0.113.10";
    public const string RemotePod = "10.244.2.12";
    public const int HealthCheckNodePort = 32000;
    public const string HostPortName = "dp-host";

    /// <summary>The Ingress controller's pod (on node-a) and its Service: a load-balancer IP (node-b announces it) and node ports.</summary>
    public const string IngressPod = "ingress";
    public const string IngressVip = "10.96.0.13";
    public const string IngressLoadBalancerIp = "192.168.77.101";
    public const int IngressHttpPort = 8080;
    public const int IngressHttpsPort = 8443;
    public const int IngressHttpNodePort = 30088;
    public const int IngressHttpsNodePort = 30443;

    /// <summary>Every pod of the cluster: node index (1 = node-a, 2 = node-b) and host byte of its address.</summary>
    private static readonly (string Name, int Node, int Host)[] s_pods =
        [("client", 1, 10), ("web-1", 1, 11), ("web-2", 1, 12), ("web-3", 1, 13), ("ingress", 1, 14), ("web-b1", 2, 11), ("web-b2", 2, 12)];

    private readonly List<string> _namespaces = [];

    public DemoTopology()
    {
        Suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2));
        UnderlayNamespace = $"dpdemo-underlay-{Suffix}";
        RouterNamespace = $"dpdemo-router-{Suffix}";
        ExternalNamespace = $"dpdemo-ext-{Suffix}";
        InternetNamespace = $"dpdemo-internet-{Suffix}";
        NodeA = Node("node-a", 1, "192.168.77.10");
        NodeB = Node("node-b", 2, "192.168.77.11");
        try
        {
            Build();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Suffix { get; }

    public DemoNode NodeA { get; }

    public DemoNode NodeB { get; }

    public IReadOnlyList<DemoNode> Nodes => [NodeA, NodeB];

    /// <summary>The physical switch: a Linux bridge, the only one in the demo.</summary>
    public string UnderlayNamespace { get; }

    public string RouterNamespace { get; }

    /// <summary>A client outside the cluster (198.51.100.10, default route via the router).</summary>
    public string ExternalNamespace { get; }

    /// <summary>A server on the internet (203.0.113.10, default route via the router).</summary>
    public string InternetNamespace { get; }

    /// <summary>The web pods (servers) on both nodes.</summary>
    public static IEnumerable<string> WebPods => s_pods.Where(static p => p.Name is not ("client" or IngressPod)).Select(static p => p.Name);

    /// <summary>The node each pod runs on, as an EndpointSlice's nodeName says it.</summary>
    public static string NodeNameOf(string pod) => s_pods.Single(p => p.Name == pod).Node == 1 ? "node-a" : "node-b";

    public string PodNamespace(string pod) => $"dpdemo-{pod}-{Suffix}";

    public static string PodIp(string pod)
    {
        (_, int node, int host) = s_pods.Single(p => p.Name == pod);
        return $"10.244.{node}.{host}";
    }

    /// <summary>Which node runs <paramref name="pod"/>.</summary>
    public DemoNode NodeOf(string pod) => s_pods.Single(p => p.Name == pod).Node == 1 ? NodeA : NodeB;

    /// <summary>An empty namespace for a pod the demo attaches at run time (CNI ADD), removed with the rest.</summary>
    public string AddNamespace(string role)
    {
        string name = $"dpdemo-{role}-{Suffix}";
        using NetworkNamespace created = NetworkNamespace.Create(name);
        _namespaces.Add(name);
        return name;
    }

    private DemoNode Node(string name, int index, string uplinkIp)
    {
        string ns = $"dpdemo-{name}-{Suffix}";
        string mac = $"02:00:00:00:77:{9 + index}";
        NodeConfig Config(bool vxlan) => NodeConfigLoader.Parse(
            NodeYaml(name, "up0", pod => PodNamespace(pod), $"/run/dataplane/demo-{name}-{Suffix}.sock", vxlan),
            $"built-in demo ({name}{(vxlan ? ", VXLAN" : "")})").ThrowIfInvalid();
        return new DemoNode(name, index, ns, uplinkIp, mac, [.. s_pods.Where(p => p.Node == index).Select(static p => p.Name)], Config(false), Config(true));
    }

    private void Build()
    {
        // The pods' namespaces too: a daemon attaches a static pod to a namespace that exists and leaves it behind when
        // it stops, so the demo can restart both daemons (host-gw, then VXLAN) under the same pods and their servers.
        string[] namespaces = [UnderlayNamespace, RouterNamespace, ExternalNamespace, InternetNamespace, NodeA.Namespace, NodeB.Namespace,
            .. s_pods.Select(p => PodNamespace(p.Name))];
        foreach (string ns in namespaces)
        {
            using NetworkNamespace created = NetworkNamespace.Create(ns);
            _namespaces.Add(ns);
            // A new namespace inherits the host's forwarding settings, and a Docker or Kubernetes host forwards: only
            // the router may, so every namespace says so rather than rely on the host (this thread is in the namespace).
            bool router = ns == RouterNamespace;
            created.Run(() =>
            {
                File.WriteAllText("/proc/sys/net/ipv4/ip_forward", router ? "1" : "0");
                File.WriteAllText("/proc/sys/net/ipv6/conf/all/forwarding", "0");
            });
        }

        // The veths first, each end made directly in its namespace (none ever exists in the host's), then one
        // `ip -batch` per namespace for its addresses, routes and links.
        string u = UnderlayNamespace, r = RouterNamespace, e = ExternalNamespace, i = InternetNamespace;
        var links = new List<string>
        {
            $"link add name eth0 netns {r} type veth peer name router netns {u}",
            $"link add name eth1 netns {r} type veth peer name eth0 netns {e}",
            $"link add name eth2 netns {r} type veth peer name eth0 netns {i}",
        };
        var underlay = new List<string> { "link add br0 type bridge", "link set br0 up", "link set router master br0 up" };
        foreach (DemoNode node in Nodes)
        {
            // The node's NIC: no kernel address on it; its daemon opens it with a raw socket and answers for the node's IP.
            links.Add($"link add name up0 netns {node.Namespace} type veth peer name {node.Name} netns {u}");
            underlay.Add($"link set {node.Name} master br0 up");
        }

        Ip(null, links);
        Ip(u, underlay);
        Ip(r, ["link set lo up", "link set eth0 up", "link set eth1 up", "link set eth2 up",
            $"addr add {RouterIp}/24 dev eth0", "addr add 198.51.100.1/24 dev eth1", "addr add 203.0.113.1/24 dev eth2"]);
        Ip(e, ["link set lo up", "link set eth0 up", $"addr add {ExternalClientIp}/24 dev eth0", "route add default via 198.51.100.1"]);
        Ip(i, ["link set lo up", "link set eth0 up", $"addr add {InternetIp}/24 dev eth0", "route add default via 203.0.113.1"]);
        foreach (DemoNode node in Nodes)
        {
            Ip(node.Namespace, ["link set lo up", "link set up0 up"]);
        }
    }

    /// <summary>Runs <c>ip [-n NS] -batch -</c> with <paramref name="commands"/>; throws with ip's message on the first failure.</summary>
    private static void Ip(string? netns, IEnumerable<string> commands)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (netns is not null)
        {
            info.ArgumentList.Add("-n");
            info.ArgumentList.Add(netns);
        }

        info.ArgumentList.Add("-batch");
        info.ArgumentList.Add("-");
        using Process process = Process.Start(info) ?? throw new InvalidOperationException("could not start ip (scripts/setup.sh installs iproute2)");
        process.StandardInput.Write(string.Join('\n', commands) + "\n");
        process.StandardInput.Close();
        string errors = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"building the demo's namespaces failed: {errors.Trim()}");
        }
    }

    /// <summary>
    /// A node's config. <paramref name="podNetns"/> names each pod's namespace; the demo passes its suffixed names,
    /// deploy/compose/ the plain pod names (a test keeps the compose files' services identical to these). With
    /// <paramref name="vxlan"/> the other node's pods are reached over VXLAN instead of host-gw.
    /// </summary>
    public static string NodeYaml(string node, string uplinkInterface, Func<string, string> podNetns, string? controlSocket, bool vxlan = false)
    {
        int index = node == "node-a" ? 1 : 2;
        int other = 3 - index;
        string pods = string.Concat(s_pods.Where(p => p.Node == index).Select(p =>
            $"  - {{ name: {p.Name}, ip: 10.244.{p.Node}.{p.Host}, mac: 02:00:0a:f4:{p.Node:x2}:{p.Host:x2}, netns: {podNetns(p.Name)} }}\n"));
        string route = vxlan
            ? $"  - {{ cidr: 10.244.{other}.0/24, vtep: 192.168.77.{9 + other}, vtepMac: {VtepMac(other)} }}   # VXLAN: the other node's pods"
            : $"  - {{ cidr: 10.244.{other}.0/24, via: 192.168.77.{9 + other} }}   # host-gw: the other node's pods";
        return $$"""
            node:
              name: {{node}}
              podCidr: 10.244.{{index}}.0/24
              gatewayIp: 10.244.{{index}}.1
              mac: 02:00:00:00:0{{index}}:01
              # The uplink's subnet is a connected route (the other node is resolved by ARP); the rest is through the router.
              uplink: { interface: {{uplinkInterface}}, ip: 192.168.77.{{9 + index}}/24, mac: 02:00:00:00:77:{{9 + index}}, gateway: {{RouterIp}} }
              # The node's own kernel: a TAP with 192.168.77.{{9 + index}}/32 and a default route into the dataplane.
              hostPort: { name: {{HostPortName}} }
              {{(vxlan ? $"vxlan: {{ vni: 1, port: 8472, mac: {VtepMac(index)} }}\n  " : "")}}# Answer ARP for the load-balancer IP (what MetalLB's L2 mode does): only node-b, which has web-local's pods.
              announceExternalIps: {{(index == 2 ? "true" : "false")}}
            pods:
            {{pods.TrimEnd('\n')}}
            routes:
            {{route}}
            {{ServicesYaml()}}
            conntrack: { maxEntries: 65536 }
            {{(controlSocket is null ? "" : $"dataplane: {{ controlSocket: {controlSocket} }}")}}
            """;
    }

    /// <summary>A node's VXLAN VTEP MAC (flannel's convention: 0a:58: and the pod CIDR's network address).</summary>
    public static string VtepMac(int node) => $"0a:58:0a:f4:{node:x2}:00";

    /// <summary>The cluster's services, the same on every node (as kube-proxy programs every service everywhere).</summary>
    public static string ServicesYaml()
    {
        string Endpoint(string pod) => $"{{ ip: {PodIp(pod)}, nodeName: {NodeNameOf(pod)} }}";
        string Endpoints(params string[] pods) => $"[ {string.Join(", ", pods.Select(Endpoint))} ]";
        return $$"""
            services:
              # Every web pod on both nodes; from outside on each node's port 30080, SNATed to the node it entered.
              - name: web
                type: NodePort
                clusterIP: {{WebVip}}
                externalTrafficPolicy: Cluster
                ports: [ { name: http, protocol: TCP, port: {{ServicePort}}, targetPort: {{TargetPort}}, nodePort: {{WebNodePort}} } ]
                endpoints: {{Endpoints([.. WebPods])}}
              # From outside only to the pods of the node it entered, the client's address kept; also a load-balancer IP.
              # Its pods run on node-b only: node-a's health check answers 503, node-b's 200.
              - name: web-local
                type: LoadBalancer
                clusterIP: {{LocalVip}}
                externalTrafficPolicy: Local
                healthCheckNodePort: {{HealthCheckNodePort}}
                status: { loadBalancer: { ingress: [ { ip: {{LoadBalancerIp}} } ] } }
                ports: [ { name: http, protocol: TCP, port: {{ServicePort}}, targetPort: {{TargetPort}}, nodePort: {{LocalNodePort}} } ]
                endpoints: {{Endpoints("web-b1", "web-b2")}}
              # Its only backend runs on node-b.
              - name: web-b
                clusterIP: {{RemoteVip}}
                ports: [ { name: http, protocol: TCP, port: {{ServicePort}}, targetPort: {{TargetPort}} } ]
                endpoints: {{Endpoints("web-b2")}}
              # The Ingress controller (`dataplane ingress`, a pod on node-a) behind a load-balancer IP and node ports, as
              # ingress-nginx is deployed; Cluster: node-b, which announces the IP, forwards to node-a.
              - name: ingress
                type: LoadBalancer
                clusterIP: {{IngressVip}}
                externalTrafficPolicy: Cluster
                status: { loadBalancer: { ingress: [ { ip: {{IngressLoadBalancerIp}} } ] } }
                ports:
                  - { name: http, protocol: TCP, port: 80, targetPort: {{IngressHttpPort}}, nodePort: {{IngressHttpNodePort}} }
                  - { name: https, protocol: TCP, port: 443, targetPort: {{IngressHttpsPort}}, nodePort: {{IngressHttpsNodePort}} }
                endpoints: {{Endpoints(IngressPod)}}
            """;
    }

    /// <summary>
    /// What the demo's Ingress controller reads (as `kubectl get ingress,svc,endpointslices,secrets -A -o yaml` would
    /// print it): the Ingress for shop.example, the `web` and `web-local` Services with their EndpointSlices (web-local's
    /// holding <paramref name="webLocalPods"/>), and the TLS Secret.
    /// </summary>
    public static string IngressObjectsYaml(string certificatePem, string keyPem, IReadOnlyList<string> webLocalPods)
    {
        static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(text));
        static string Service(string name, string vip) => $$"""
            apiVersion: v1
            kind: Service
            metadata: { name: {{name}}, namespace: default }
            spec:
              clusterIP: {{vip}}
              clusterIPs: [{{vip}}]
              ports: [ { name: http, protocol: TCP, port: {{ServicePort}}, targetPort: http } ]
            """;
        static string Slice(string service, IEnumerable<string> pods) => $$"""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: { name: {{service}}-1, namespace: default, labels: { kubernetes.io/service-name: {{service}} } }
            addressType: IPv4
            ports: [ { name: http, protocol: TCP, port: {{TargetPort}} } ]
            endpoints:
            {{string.Join("\n", pods.Select(p => $"  - {{ addresses: [{PodIp(p)}], conditions: {{ ready: true }}, nodeName: {NodeNameOf(p)} }}"))}}
            """;
        string ingress = """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: { name: shop, namespace: default }
            spec:
              ingressClassName: dataplane
              tls: [ { hosts: [shop.example], secretName: shop-tls } ]
              rules:
                - host: shop.example
                  http:
                    paths:
                      - { path: /, pathType: Prefix, backend: { service: { name: web, port: { name: http } } } }
                      - { path: /b, pathType: Prefix, backend: { service: { name: web-local, port: { number: 80 } } } }
            """;
        string secret = $$"""
            apiVersion: v1
            kind: Secret
            metadata: { name: shop-tls, namespace: default }
            type: kubernetes.io/tls
            data:
              tls.crt: {{Base64(certificatePem)}}
              tls.key: {{Base64(keyPem)}}
            """;
        return string.Join("\n---\n", [ingress, Service("web", WebVip), Slice("web", WebPods), Service("web-local", LocalVip), Slice("web-local", webLocalPods), secret]) + "\n";
    }

    public void Dispose()
    {
        // Deleting a namespace takes its veth ends with it; the bridge goes with the underlay's.
        foreach (string ns in Enumerable.Reverse(_namespaces))
        {
            NetworkNamespace.Delete(ns);
        }

        _namespaces.Clear();
    }
}
