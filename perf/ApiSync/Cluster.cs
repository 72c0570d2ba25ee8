using System.Globalization;
using Dataplane.Config;
using Dataplane.Kubernetes;
using Dataplane.Model;
using Dataplane.Packets;
using k8s;
using k8s.Models;

namespace Dataplane.ApiSync;

/// <summary>
/// The cluster the benchmark syncs, in the shape the API serves it: <see cref="ServiceCount"/> ClusterIP Services of one
/// TCP port (80 to 8080), one EndpointSlice each with <see cref="EndpointsPerService"/> ready endpoints (pod references,
/// node names and zones filled in as the EndpointSlice controller fills them), and eight Nodes: this one
/// (<see cref="SelfNode"/>) and seven others whose pod CIDRs hold every endpoint but those of the churned service.
/// <para>
/// Few endpoints are this node's in a cluster that size (100,000 pods is 900-odd nodes at 110 pods each), so the
/// generated ones are all on the seven others. The churned service is the exception: four of its endpoints are static
/// pods of this node (web-0..3, so the forwarding thread's flows reach pods as well as the uplink), six are remote.
/// Everything is made from the index alone: the same arguments give the same objects.
/// </para>
/// </summary>
internal sealed class Cluster
{
    public const string SelfNode = "node-0";
    public const int RemoteNodes = 7;
    public const int LocalChurnEndpoints = 4;
    public const ushort ServicePort = 80;
    public const ushort TargetPort = 8080;
    private const int Namespaces = 100;

    public static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:01:01");
    public static readonly MacAddress UplinkMac = MacAddress.Parse("02:00:00:00:77:10");
    public static readonly MacAddress ClientMac = MacAddress.Parse("02:00:0a:40:00:14");
    public static readonly Ip4Address ClientIp = Ip4Address.Parse("10.64.0.20");

    public Cluster(int services, int endpointsPerService)
    {
        if (services < 2 || endpointsPerService <= LocalChurnEndpoints || (long)services * endpointsPerService > 400_000)
        {
            throw new ArgumentException("2+ services, more than 4 endpoints each, at most 400,000 endpoints (each remote node's /16)");
        }

        ServiceCount = services;
        EndpointsPerService = endpointsPerService;
        ChurnIndex = services / 2;
        var serviceObjects = new V1Service[services];
        var slices = new V1EndpointSlice[services];
        for (int s = 0; s < services; s++)
        {
            serviceObjects[s] = Service(s);
            slices[s] = Slice(s, ChurnVariant.Base);
        }

        V1Node[] nodes = [.. Enumerable.Range(0, RemoteNodes + 1).Select(Node)];
        Objects = new ClusterObjects(serviceObjects, slices, nodes);
    }

    /// <summary>The churn cycle: each change differs from the state before it, so every one is programmed.</summary>
    public enum ChurnVariant
    {
        /// <summary>Every endpoint ready.</summary>
        Base,

        /// <summary>The last (remote) endpoint gone: its flows are flushed.</summary>
        LastRemoved,

        /// <summary>web-0 (local) not ready: kept for its flows, no new ones.</summary>
        FirstNotReady,
    }

    public int ServiceCount { get; }

    public int EndpointsPerService { get; }

    public int EndpointCount => ServiceCount * EndpointsPerService;

    public ClusterObjects Objects { get; }

    /// <summary>The service whose slice the churn changes (the middle one).</summary>
    public int ChurnIndex { get; }

    public Ip4Address ChurnVip => ClusterIp(ChurnIndex);

    /// <summary>Other services' VIPs for the forwarding thread, spread over the whole set.</summary>
    public IEnumerable<Ip4Address> OtherVips(int count) =>
        Enumerable.Range(0, count).Select(i => (int)((long)i * ServiceCount / count)).Where(s => s != ChurnIndex).Select(ClusterIp);

    public static IEnumerable<Ip4Address> RemoteNodeIps => Enumerable.Range(1, RemoteNodes).Select(NodeIp);

    public static string NodeYaml => $$"""
        node:
          name: {{SelfNode}}
          podCidr: {{PodCidr(0)}}
          gatewayIp: 10.64.0.1
          mac: {{GatewayMac}}
          uplink: { interface: up0, ip: {{NodeIp(0)}}/24, mac: {{UplinkMac}} }
        pods:
          - { name: client, ip: {{ClientIp}}, mac: {{ClientMac}} }
        {{string.Join("\n", Enumerable.Range(0, LocalChurnEndpoints).Select(i => $"  - {{ name: web-{i}, ip: {WebIp(i)}, mac: {WebMac(i)} }}"))}}
        conntrack: { timeouts: { tcpSynSent: 1 } }
        """;

    public static NodeConfig NodeConfig() => NodeConfigLoader.Parse(NodeYaml, "apisync-node.yaml").ThrowIfInvalid();

    public static Ip4Address WebIp(int i) => Ip4Address.Parse($"10.64.0.{10 + i}");

    public static MacAddress WebMac(int i) => MacAddress.Parse($"02:00:0a:40:00:{10 + i:x2}");

    /// <summary>The churned slice in one of its states, as the informer hands it over.</summary>
    public V1EndpointSlice ChurnSlice(ChurnVariant variant) => Slice(ChurnIndex, variant);

    /// <summary>The churned slice in one of its states, as API JSON (kind and apiVersion set) for the server's upsert.</summary>
    public string ChurnSliceJson(ChurnVariant variant)
    {
        V1EndpointSlice slice = Slice(ChurnIndex, variant);
        slice.Kind = "EndpointSlice";
        slice.ApiVersion = "discovery.k8s.io/v1";
        return KubernetesJson.Serialize(slice);
    }

    /// <summary>What the churned service's port holds once a variant is programmed: backends, and how many take new flows.</summary>
    public (int Backends, int Eligible) Expected(ChurnVariant variant) => variant switch
    {
        ChurnVariant.LastRemoved => (EndpointsPerService - 1, EndpointsPerService - 1),
        ChurnVariant.FirstNotReady => (EndpointsPerService, EndpointsPerService - 1),
        _ => (EndpointsPerService, EndpointsPerService),
    };

    private static string Namespace(int s) => $"ns-{s % Namespaces:D2}";

    private static string ServiceName(int s) => $"svc-{s:D5}";

    /// <summary>10.96.0.16 on, one per service (10.96.0.0/12 holds a million).</summary>
    private static Ip4Address ClusterIp(int s) => new((10u << 24 | 96u << 16) + 16u + (uint)s);

    private static string PodCidr(int node) => $"10.{64 + node}.0.0/16";

    private static Ip4Address NodeIp(int node) => Ip4Address.Parse($"192.168.77.{10 + node}");

    /// <summary>Endpoint j of service s: on remote node 1..7 in turn, a fresh address in that node's /16.</summary>
    private (string Ip, string Node, string Pod) Endpoint(int s, int j)
    {
        if (s == ChurnIndex && j < LocalChurnEndpoints)
        {
            return (WebIp(j).ToString(), SelfNode, $"web-{j}");
        }

        int k = (s * EndpointsPerService) + j;
        int node = 1 + (k % RemoteNodes);
        int index = k / RemoteNodes;
        return ($"10.{64 + node}.{(index >> 8) + 1}.{index & 255}", $"node-{node}", $"{ServiceName(s)}-7d9f{s % 10}c-{Suffix(k)}");
    }

    private static V1Service Service(int s)
    {
        string name = ServiceName(s);
        string ip = ClusterIp(s).ToString();
        return new V1Service
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace(s), Labels = new Dictionary<string, string> { ["app"] = name } },
            Spec = new V1ServiceSpec
            {
                Type = "ClusterIP",
                ClusterIP = ip,
                ClusterIPs = [ip],
                IpFamilies = ["IPv4"],
                IpFamilyPolicy = "SingleStack",
                InternalTrafficPolicy = "Cluster",
                SessionAffinity = "None",
                Selector = new Dictionary<string, string> { ["app"] = name },
                Ports = [new V1ServicePort { Name = "http", Protocol = "TCP", Port = ServicePort, TargetPort = TargetPort }],
            },
            Status = new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus() },
        };
    }

    private V1EndpointSlice Slice(int s, ChurnVariant variant)
    {
        string name = ServiceName(s);
        string ns = Namespace(s);
        int count = variant == ChurnVariant.LastRemoved ? EndpointsPerService - 1 : EndpointsPerService;
        var endpoints = new List<V1Endpoint>(count);
        for (int j = 0; j < count; j++)
        {
            (string ip, string node, string pod) = Endpoint(s, j);
            bool ready = !(variant == ChurnVariant.FirstNotReady && j == 0);
            endpoints.Add(new V1Endpoint
            {
                Addresses = [ip],
                Conditions = new V1EndpointConditions { Ready = ready, Serving = ready, Terminating = false },
                NodeName = node,
                Zone = $"zone-{node[^1]}",
                TargetRef = new V1ObjectReference { Kind = "Pod", Name = pod, NamespaceProperty = ns, Uid = Uid((s * EndpointsPerService) + j) },
            });
        }

        return new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta
            {
                Name = $"{name}-{Suffix(s)}",
                NamespaceProperty = ns,
                GenerateName = name + "-",
                Labels = new Dictionary<string, string>
                {
                    [ServiceTranslator.ServiceNameLabel] = name,
                    ["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io",
                    ["app"] = name,
                },
                OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "Service", Name = name, Uid = Uid(-1 - s), Controller = true, BlockOwnerDeletion = true }],
            },
            AddressType = "IPv4",
            Endpoints = endpoints,
            Ports = [new Discoveryv1EndpointPort { Name = "http", Protocol = "TCP", Port = TargetPort }],
        };
    }

    private static V1Node Node(int n)
    {
        string name = $"node-{n}";
        return new V1Node
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                Labels = new Dictionary<string, string>
                {
                    ["kubernetes.io/hostname"] = name,
                    ["kubernetes.io/os"] = "linux",
                    ["topology.kubernetes.io/zone"] = $"zone-{n}",
                },
            },
            Spec = new V1NodeSpec { PodCIDR = PodCidr(n), PodCIDRs = [PodCidr(n)] },
            Status = new V1NodeStatus
            {
                Addresses = [new V1NodeAddress { Type = "InternalIP", Address = NodeIp(n).ToString() }, new V1NodeAddress { Type = "Hostname", Address = name }],
            },
        };
    }

    // The pod-name and slice-name tails the controllers generate: five characters of [b-z2-9], here from the index.
    private static string Suffix(int k)
    {
        const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";
        uint x = (uint)k * 2654435761u;
        Span<char> chars = stackalloc char[5];
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[(int)(x % (uint)Alphabet.Length)];
            x /= (uint)Alphabet.Length;
        }

        return new string(chars);
    }

    private static string Uid(int k) => new Guid(k, (short)(k >> 16), 0x4a5b, 1, 2, 3, 4, 5, 6, 7, 8).ToString();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ServiceCount:N0} services, {EndpointCount:N0} endpoints");
}
