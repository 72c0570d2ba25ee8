namespace Dataplane.Tests.Kubernetes;

/// <summary>The objects of Fixtures/, exactly as the API server serves them (<c>kubectl get -o json</c>, one object a file).</summary>
public static class ApiFixtures
{
    /// <summary>default/web: ClusterIP 10.96.0.10, ports http (80 to the named targetPort "http") and dns (UDP).</summary>
    public const string Service = "service-web.json";

    /// <summary>default/web-7xk2p: the IPv4 slice of web, one ready endpoint on node-a, one terminating on node-b.</summary>
    public const string EndpointSliceV4 = "endpointslice-web-ipv4.json";

    /// <summary>default/web-v6q9d: web's IPv6 slice.</summary>
    public const string EndpointSliceV6 = "endpointslice-web-ipv6.json";

    /// <summary>node-a: pod CIDRs 10.244.1.0/24 and fd00:10:244:1::/64, InternalIP 192.168.77.10, flannel's VXLAN annotations.</summary>
    public const string Node = "node-a.json";

    public static string PathOf(string fileName) => Path.Combine(AppContext.BaseDirectory, "Kubernetes", "Fixtures", fileName);

    public static string Read(string fileName) => File.ReadAllText(PathOf(fileName));
}
