using k8s.Models;

namespace Dataplane.Tests.Kubernetes;

/// <summary>Objects built in code with KubernetesClient's models, as a test writes them to the API server double.</summary>
internal static class ApiModels
{
    public static readonly V1EndpointConditions Ready = new() { Ready = true, Serving = true, Terminating = false };
    public static readonly V1EndpointConditions Terminating = new() { Ready = false, Serving = true, Terminating = true };

    public static V1Node Node(string name, string podCidr, string internalIp = "192.168.77.10") => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1NodeSpec { PodCIDR = podCidr, PodCIDRs = [podCidr] },
        Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Address = internalIp, Type = "InternalIP" }] },
    };

    public static V1Service Service(string ns, string name, string vip) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            ClusterIP = vip,
            ClusterIPs = [vip],
            Ports = [new V1ServicePort { Name = "http", Protocol = "TCP", Port = 80, TargetPort = "http" }, new V1ServicePort { Name = "probe", Protocol = "UDP", Port = 80, TargetPort = 5353 }],
        },
    };

    public static V1EndpointSlice Slice(string ns, string service, string name, int port, params (string Ip, V1EndpointConditions Conditions)[] endpoints) => new()
    {
        ApiVersion = "discovery.k8s.io/v1",
        Kind = "EndpointSlice",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = service } },
        AddressType = "IPv4",
        Endpoints = [.. endpoints.Select(e => new V1Endpoint { Addresses = [e.Ip], Conditions = e.Conditions })],
        Ports = [new Discoveryv1EndpointPort { Name = "http", Protocol = "TCP", Port = port }, new Discoveryv1EndpointPort { Name = "probe", Protocol = "UDP", Port = 5353 }],
    };
}
