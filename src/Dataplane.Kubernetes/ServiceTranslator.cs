using Dataplane.Model;
using Dataplane.Packets;
using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>
/// A Service and its EndpointSlices, as the API server serves them, into the core's <see cref="ServiceConfig"/>, read
/// the way kube-proxy reads them (pkg/proxy/servicechangetracker.go, serviceport.go and endpointslicecache.go in
/// https://github.com/kubernetes/kubernetes). Pure: no I/O, no clock, and the same objects give an equal config
/// (endpoints sorted by address), so a controller can tell an unchanged service from a changed one. What it cannot
/// use becomes an <see cref="ObjectWarning"/> and is left out, never an exception: one odd object must not stop the
/// node serving the others. The node-specific checks of a config file (a cluster IP inside the pod CIDR, an external
/// IP equal to the uplink's, frontends shared across services) need the node and every service; they are not here.
/// </summary>
public static partial class ServiceTranslator
{
    /// <summary>The label that ties an EndpointSlice to its Service (discovery.k8s.io's LabelServiceName).</summary>
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <summary>
    /// A Service carrying this label belongs to the proxy it names: kube-proxy lists Services and EndpointSlices with
    /// the selector <c>!service.kubernetes.io/service-proxy-name</c> (cmd/kube-proxy/app/server.go), whatever the value.
    /// </summary>
    public const string ServiceProxyNameLabel = "service.kubernetes.io/service-proxy-name";

    /// <summary>Kubernetes' default <c>sessionAffinityConfig.clientIP.timeoutSeconds</c> (3 hours).</summary>
    public const int DefaultAffinityTimeoutSeconds = 10800;

    /// <summary>The API's upper bound for the affinity timeout (1 day).</summary>
    private const int MaxAffinityTimeoutSeconds = 86400;

    /// <summary>
    /// Every service of a snapshot, each with the EndpointSlices labelled with its name in its namespace, ordered by
    /// key. Slices of no listed service (or without the label) are not anyone's: left out, as kube-proxy does.
    /// </summary>
    public static IReadOnlyList<ServiceTranslation> TranslateAll(IEnumerable<V1Service> services, IEnumerable<V1EndpointSlice> slices)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(slices);
        var byService = new Dictionary<string, List<V1EndpointSlice>>(StringComparer.Ordinal);
        foreach (V1EndpointSlice slice in slices)
        {
            if (ServiceKeyOf(slice) is { } key)
            {
                (byService.TryGetValue(key, out List<V1EndpointSlice>? list) ? list : byService[key] = []).Add(slice);
            }
        }

        var translations = new List<ServiceTranslation>();
        foreach (V1Service service in services)
        {
            string key = ServiceNames.Key(NamespaceOf(service.Metadata), service.Metadata?.Name ?? "");
            translations.Add(Translate(service, byService.TryGetValue(key, out List<V1EndpointSlice>? own) ? own : []));
        }

        translations.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return translations;
    }

    /// <summary>The ClusterObjects form of <see cref="TranslateAll(IEnumerable{V1Service}, IEnumerable{V1EndpointSlice})"/>.</summary>
    public static IReadOnlyList<ServiceTranslation> TranslateAll(ClusterObjects objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        return TranslateAll(objects.Services, objects.EndpointSlices);
    }

    /// <summary>
    /// One Service with its EndpointSlices (those labelled <see cref="ServiceNameLabel"/> = its name, in its
    /// namespace; an empty list when it has none yet).
    /// </summary>
    /// <exception cref="ArgumentException">The service has no name, or a slice belongs to another service (a caller's bug).</exception>
    public static ServiceTranslation Translate(V1Service service, IEnumerable<V1EndpointSlice> slices)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(slices);
        string name = service.Metadata?.Name is { Length: > 0 } given
            ? given : throw new ArgumentException("the Service has no metadata.name", nameof(service));
        string ns = NamespaceOf(service.Metadata);
        string key = ServiceNames.Key(ns, name);
        if (SkipReason(service) is { } reason)
        {
            return new ServiceTranslation(key, null, reason, []);
        }

        var warnings = new List<ObjectWarning>();
        var warn = new ObjectWarningCollector("Service", ns, name, warnings);
        if (service.Spec is not { } spec)
        {
            warn.Add("has no spec: not served");
            return new ServiceTranslation(key, null, null, warnings);
        }

        (Ip4Address? v4, Ip6Address? v6) = ClusterIps(spec, warn);
        ServiceType type = Type(spec, warn);
        List<PortSpec> ports = Ports(spec, type, warn);
        if ((v4 is null && v6 is null) || ports.Count == 0)
        {
            return new ServiceTranslation(key, null, null, warnings);
        }

        (SessionAffinity affinity, int affinityTimeout) = Affinity(spec, warn);
        ServiceExposure exposure = Exposure(service, type, v4 is not null, v6 is not null, warn);
        (List<EndpointConfig> endpoints, ushort[] targetPorts) = Endpoints(ns, name, ports, v4 is not null, v6 is not null, slices, warn);
        var portConfigs = new List<ServicePortConfig>(ports.Count);
        for (int i = 0; i < ports.Count; i++)
        {
            PortSpec p = ports[i];
            portConfigs.Add(new ServicePortConfig(p.Name.Length == 0 ? null : p.Name, p.L4, p.Port, targetPorts[i], p.NodePort));
        }

        var config = new ServiceConfig(key, v4, v6, affinity, affinityTimeout, Scheduler.Maglev, portConfigs, endpoints) { Exposure = exposure };
        return new ServiceTranslation(key, RuleProblems(config, warn) ? null : config, null, warnings);
    }

    /// <summary>The <c>namespace/name</c> key of the Service an EndpointSlice belongs to; null without the label.</summary>
    public static string? ServiceKeyOf(V1EndpointSlice slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        return slice.Metadata?.Labels?.TryGetValue(ServiceNameLabel, out string? service) == true && !string.IsNullOrEmpty(service)
            ? ServiceNames.Key(NamespaceOf(slice.Metadata), service)
            : null;
    }

    /// <summary>An object written without a namespace (in a file) is in the default one, as kubectl has it.</summary>
    internal static string NamespaceOf(V1ObjectMeta? metadata)
        => metadata?.NamespaceProperty is { Length: > 0 } ns ? ns : ServiceNames.DefaultNamespace;

    /// <summary>Services kube-proxy leaves alone without a word (proxyutil.ShouldSkipService, and its informers' label selector).</summary>
    private static string? SkipReason(V1Service service)
    {
        if (service.Spec?.Type == "ExternalName")
        {
            return "type ExternalName: a DNS alias (CNAME), with no cluster IP to proxy";
        }

        if (service.Metadata?.Labels?.TryGetValue(ServiceProxyNameLabel, out string? proxy) == true)
        {
            return $"label {ServiceProxyNameLabel}={proxy}: another proxy ('{proxy}') serves it";
        }

        return service.Spec?.ClusterIP == "None" || service.Spec?.ClusterIPs?.FirstOrDefault() == "None"
            ? "headless (clusterIP: None): DNS answers with its endpoints, there is no virtual IP to proxy"
            : null;
    }

    /// <summary>
    /// <c>clusterIPs</c> (one address per family, dual stack), or <c>clusterIP</c> when the list is absent (objects
    /// from before 1.20, or written by hand). Each unusable address is warned about and left out.
    /// </summary>
    private static (Ip4Address? V4, Ip6Address? V6) ClusterIps(V1ServiceSpec spec, ObjectWarningCollector warn)
    {
        IList<string> given = spec.ClusterIPs is { Count: > 0 } list ? list : spec.ClusterIP is { Length: > 0 } one ? [one] : [];
        Ip4Address? v4 = null;
        Ip6Address? v6 = null;
        foreach (string text in given)
        {
            if (!IpAddress.TryParse(text, out IpAddress ip) || !ApiAddresses.IsUnicast(ip))
            {
                warn.Add($"clusterIPs: '{text}' is not a unicast IP address; left out");
            }
            else if (ip.IsV4 ? v4 is not null : v6 is not null)
            {
                warn.Add($"clusterIPs: '{text}' is a second {ApiAddresses.Family(ip.IsV4)} cluster IP; a service has at most one per family, the first is kept");
            }
            else if (ip.IsV4)
            {
                v4 = ip.V4;
            }
            else
            {
                v6 = ip.V6;
            }
        }

        if (v4 is null && v6 is null)
        {
            warn.Add(given.Count == 0
                ? "has no cluster IP (spec.clusterIP, spec.clusterIPs): not served"
                : $"has no usable cluster IP ({string.Join(", ", given)}): not served");
        }

        return (v4, v6);
    }

    private static ServiceType Type(V1ServiceSpec spec, ObjectWarningCollector warn)
    {
        switch (spec.Type)
        {
            case null or "ClusterIP":
                return ServiceType.ClusterIP;
            case "NodePort":
                return ServiceType.NodePort;
            case "LoadBalancer":
                return ServiceType.LoadBalancer;
            default:
                warn.Add($"type '{spec.Type}' is not ClusterIP, NodePort, LoadBalancer or ExternalName; served as ClusterIP");
                return ServiceType.ClusterIP;
        }
    }

    /// <summary>
    /// <c>sessionAffinity</c> and <c>sessionAffinityConfig.clientIP.timeoutSeconds</c>. The timeout is kept whatever
    /// the affinity, as the config file keeps it, so the two sources give equal services.
    /// </summary>
    private static (SessionAffinity Affinity, int TimeoutSeconds) Affinity(V1ServiceSpec spec, ObjectWarningCollector warn)
    {
        SessionAffinity affinity = SessionAffinity.None;
        switch (spec.SessionAffinity)
        {
            case null or "None":
                break;
            case "ClientIP":
                affinity = SessionAffinity.ClientIP;
                break;
            default:
                warn.Add($"sessionAffinity '{spec.SessionAffinity}' is not None or ClientIP; None is used");
                break;
        }

        int timeout = spec.SessionAffinityConfig?.ClientIP?.TimeoutSeconds ?? DefaultAffinityTimeoutSeconds;
        if (timeout is < 1 or > MaxAffinityTimeoutSeconds)
        {
            warn.Add($"sessionAffinityConfig.clientIP.timeoutSeconds {timeout} is outside 1..{MaxAffinityTimeoutSeconds}; {DefaultAffinityTimeoutSeconds} is used");
            timeout = DefaultAffinityTimeoutSeconds;
        }

        return (affinity, timeout);
    }

    /// <summary>
    /// The rules the service table enforces (<see cref="ServiceRules"/>), checked here so a refused service is a
    /// warning with its name rather than a failed table update. True when the service breaks one.
    /// </summary>
    private static bool RuleProblems(ServiceConfig config, ObjectWarningCollector warn)
    {
        (int v4, int v6) = ServiceRules.EndpointsPerFamily(config.Endpoints);
        bool tooMany = false;
        foreach ((int count, string family) in (ReadOnlySpan<(int, string)>)[(v4, "IPv4"), (v6, "IPv6")])
        {
            if (count > ServiceRules.MaxEndpointsPerFamily)
            {
                warn.Add($"{count} {family} endpoints; a service takes at most {ServiceRules.MaxEndpointsPerFamily} per family (a Maglev entry indexes them with 16 bits): not served");
                tooMany = true;
            }
        }

        if (tooMany)
        {
            return true;
        }

        List<string> problems = ServiceRules.Problems(config);
        foreach (string problem in problems)
        {
            warn.Add($"{problem}: not served");
        }

        return problems.Count > 0;
    }
}
