using System.Text;
using System.Text.Json.Nodes;
using Dataplane.Kubernetes;
using k8s;
using k8s.Models;

namespace Dataplane.Tests.Ingress;

/// <summary>
/// Ingresses and the objects around them, built in code with KubernetesClient's models as the API serves them, and
/// written as an objects file (a <c>kind: List</c> in JSON, which is what <c>kubectl get -o json</c> prints).
/// </summary>
internal static class IngressModels
{
    public static readonly DateTime Epoch = new(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>An Ingress created <paramref name="ageRank"/> seconds after <see cref="Epoch"/> (so a lower rank is older).</summary>
    public static V1Ingress IngressObject(string ns, string name, IEnumerable<V1IngressRule> rules, string? className = "dataplane", int ageRank = 0,
        V1IngressBackend? defaultBackend = null, IEnumerable<V1IngressTLS>? tls = null, IDictionary<string, string>? annotations = null) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "Ingress",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, CreationTimestamp = Epoch.AddSeconds(ageRank), Annotations = annotations },
        Spec = new V1IngressSpec
        {
            IngressClassName = className,
            DefaultBackend = defaultBackend,
            Rules = [.. rules],
            Tls = tls is null ? null : [.. tls],
        },
    };

    public static V1IngressRule Rule(string? host, params V1HTTPIngressPath[] paths) => new()
    {
        Host = host,
        Http = paths.Length == 0 ? null : new V1HTTPIngressRuleValue { Paths = paths },
    };

    /// <param name="port">A port number (int) or name (string).</param>
    public static V1HTTPIngressPath Path(string path, string pathType, string service, object port) => new()
    {
        Path = path,
        PathType = pathType,
        Backend = Backend(service, port),
    };

    public static V1IngressBackend Backend(string service, object port) => new()
    {
        Service = new V1IngressServiceBackend
        {
            Name = service,
            Port = port is int number ? new V1ServiceBackendPort { Number = number } : new V1ServiceBackendPort { Name = (string)port },
        },
    };

    public static V1IngressTLS Tls(string secret, params string[] hosts) => new() { SecretName = secret, Hosts = hosts.Length == 0 ? null : hosts };

    public static V1IngressClass Class(string name, string controller, bool isDefault = false) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "IngressClass",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Annotations = isDefault ? new Dictionary<string, string> { ["ingressclass.kubernetes.io/is-default-class"] = "true" } : null,
        },
        Spec = new V1IngressClassSpec { Controller = controller },
    };

    /// <summary>A ClusterIP service; each port TCP, its targetPort a number or a name.</summary>
    public static V1Service ServiceObject(string ns, string name, string clusterIp, params (string? Name, int Port, object Target)[] ports) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            ClusterIP = clusterIp,
            ClusterIPs = [clusterIp],
            Ports = [.. ports.Select(static p => new V1ServicePort
            {
                Name = p.Name,
                Protocol = "TCP",
                Port = p.Port,
                TargetPort = p.Target is int n ? (IntOrString)n : (IntOrString)(string)p.Target,
            })],
        },
    };

    /// <summary>An IPv4 EndpointSlice of <paramref name="service"/>: its ports (name and number) and endpoints (address and readiness).</summary>
    public static V1EndpointSlice Slice(string ns, string service, string name, (string? Name, int Port)[] ports, params (string Ip, bool Ready)[] endpoints) => new()
    {
        ApiVersion = "discovery.k8s.io/v1",
        Kind = "EndpointSlice",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string> { [ServiceTranslator.ServiceNameLabel] = service } },
        AddressType = "IPv4",
        Ports = [.. ports.Select(static p => new Discoveryv1EndpointPort { Name = p.Name ?? "", Protocol = "TCP", Port = p.Port })],
        Endpoints = [.. endpoints.Select(static e => new V1Endpoint
        {
            Addresses = [e.Ip],
            Conditions = new V1EndpointConditions { Ready = e.Ready, Serving = e.Ready, Terminating = !e.Ready },
        })],
    };

    public static V1Secret TlsSecret(string ns, string name, string certificatePem, string keyPem) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Type = "kubernetes.io/tls",
        Data = new Dictionary<string, byte[]> { ["tls.crt"] = Encoding.ASCII.GetBytes(certificatePem), ["tls.key"] = Encoding.ASCII.GetBytes(keyPem) },
    };

    /// <summary>The objects sorted into a <see cref="ClusterObjects"/>, as a source would hand them over.</summary>
    public static ClusterObjects Objects(params IEnumerable<object> objects)
    {
        List<object> all = [.. objects];
        return new ClusterObjects([.. all.OfType<V1Service>()], [.. all.OfType<V1EndpointSlice>()], [])
        {
            Ingresses = [.. all.OfType<V1Ingress>()],
            IngressClasses = [.. all.OfType<V1IngressClass>()],
            Secrets = [.. all.OfType<V1Secret>()],
        };
    }

    /// <summary>The objects as <c>kubectl get ... -o json</c> prints them: a List whose items carry kind and apiVersion.</summary>
    public static string ToListJson(IEnumerable<object> objects)
    {
        var items = new JsonArray();
        foreach (object obj in objects)
        {
            items.Add(JsonNode.Parse(KubernetesJson.Serialize(obj)));
        }

        return new JsonObject { ["apiVersion"] = "v1", ["kind"] = "List", ["items"] = items }.ToJsonString();
    }
}
