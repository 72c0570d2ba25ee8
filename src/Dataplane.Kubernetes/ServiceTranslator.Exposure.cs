using Dataplane.Model;
using Dataplane.Packets;
using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>
/// A Service's entrances from outside the cluster, as kube-proxy reads them (newBaseServiceInfo in
/// pkg/proxy/serviceport.go): <c>externalIPs</c>, <c>status.loadBalancer.ingress[].ip</c>, the traffic policies,
/// <c>healthCheckNodePort</c> and <c>loadBalancerSourceRanges</c>. A plain ClusterIP service is
/// <see cref="ServiceExposure.ClusterIpOnly"/>, as the config file gives it, so the two sources compare equal.
/// </summary>
public static partial class ServiceTranslator
{
    private static ServiceExposure Exposure(V1Service service, ServiceType type, bool hasV4, bool hasV6, ObjectWarningCollector warn)
    {
        V1ServiceSpec spec = service.Spec;
        List<IpAddress> externalIps = ExternalAddresses(spec.ExternalIPs ?? [], "externalIPs", hasV4, hasV6, warn);
        List<IpAddress> loadBalancerIps = LoadBalancerIps(service, type, hasV4, hasV6, warn);

        // kube-proxy's ExternalPolicyLocal is false for a service nothing outside reaches: the policy has no traffic to apply to.
        bool external = type != ServiceType.ClusterIP || externalIps.Count > 0;
        TrafficPolicy externalPolicy = Policy(spec.ExternalTrafficPolicy, "externalTrafficPolicy", warn);
        if (!external)
        {
            externalPolicy = TrafficPolicy.Cluster;
        }

        TrafficPolicy internalPolicy = Policy(spec.InternalTrafficPolicy, "internalTrafficPolicy", warn);

        // apiservice.NeedsHealthCheck: only a LoadBalancer service with the Local policy has one, for the balancer to
        // find the nodes that have endpoints.
        ushort? healthCheck = null;
        if (type == ServiceType.LoadBalancer && externalPolicy == TrafficPolicy.Local)
        {
            if (spec.HealthCheckNodePort is int port and >= 1 and <= 65535)
            {
                healthCheck = (ushort)port;
            }
            else
            {
                warn.Add($"healthCheckNodePort {(spec.HealthCheckNodePort?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "is not set")}: a LoadBalancer service with externalTrafficPolicy Local needs one (the API server allocates it); none is served");
            }
        }

        List<IpPrefix> sourceRanges = SourceRanges(spec, type, warn);
        if (sourceRanges.Count == 0 && type == ServiceType.LoadBalancer && spec.LoadBalancerSourceRanges is { Count: > 0 } && loadBalancerIps.Count > 0)
        {
            // An empty list means "every source": serving the balancer's IPs now would open what the ranges closed.
            warn.Add($"no loadBalancerSourceRanges entry could be read, so the load-balancer IPs ({string.Join(", ", loadBalancerIps)}) are not served rather than opened to every source");
            loadBalancerIps = [];
        }

        return type == ServiceType.ClusterIP && externalIps.Count == 0 && loadBalancerIps.Count == 0 && internalPolicy == TrafficPolicy.Cluster
            ? ServiceExposure.ClusterIpOnly
            : new ServiceExposure(type, externalIps, loadBalancerIps, externalPolicy, internalPolicy, healthCheck, sourceRanges);
    }

    /// <summary>
    /// <c>status.loadBalancer.ingress[].ip</c> of a LoadBalancer service. Skipped without a word, as kube-proxy does:
    /// a hostname-only entry (a cloud balancer known by DNS name, nothing for the node to answer), and one with
    /// <c>ipMode: Proxy</c> (the balancer sends traffic to the node ports itself, not to its VIP; KEP-1860).
    /// </summary>
    private static List<IpAddress> LoadBalancerIps(V1Service service, ServiceType type, bool hasV4, bool hasV6, ObjectWarningCollector warn)
    {
        var given = new List<string>();
        foreach (V1LoadBalancerIngress ingress in service.Status?.LoadBalancer?.Ingress ?? [])
        {
            if (!string.IsNullOrEmpty(ingress.Ip) && ingress.IpMode != "Proxy")
            {
                given.Add(ingress.Ip);
            }
        }

        if (given.Count > 0 && type != ServiceType.LoadBalancer)
        {
            warn.Add($"status.loadBalancer.ingress: {string.Join(", ", given)} left out: load-balancer IPs belong to a service of type LoadBalancer, this one is {type}");
            return [];
        }

        return ExternalAddresses(given, "status.loadBalancer.ingress", hasV4, hasV6, warn);
    }

    /// <summary>
    /// Addresses outside traffic arrives at: unicast, each once, and of a family the service has a cluster IP for
    /// (kube-proxy programs each family's entrances in that family's proxier, which has nothing to send them to
    /// without the family's cluster IP).
    /// </summary>
    private static List<IpAddress> ExternalAddresses(IEnumerable<string> given, string field, bool hasV4, bool hasV6, ObjectWarningCollector warn)
    {
        var addresses = new List<IpAddress>();
        foreach (string text in given)
        {
            if (!ApiAddresses.TryParseUnicast(text, out IpAddress ip))
            {
                warn.Add($"{field}: '{text}' is not a unicast IP address; left out");
            }
            else if (ip.IsV4 ? !hasV4 : !hasV6)
            {
                warn.Add($"{field}: '{text}' is {ApiAddresses.Family(ip.IsV4)} but the service has no {ApiAddresses.Family(ip.IsV4)} cluster IP; left out");
            }
            else if (!addresses.Contains(ip))
            {
                addresses.Add(ip);
            }
        }

        return addresses;
    }

    private static TrafficPolicy Policy(string? value, string field, ObjectWarningCollector warn)
    {
        switch (value)
        {
            case null or "Cluster":
                return TrafficPolicy.Cluster;
            case "Local":
                return TrafficPolicy.Local;
            default:
                warn.Add($"{field} '{value}' is not Cluster or Local; Cluster is used");
                return TrafficPolicy.Cluster;
        }
    }

    /// <summary>
    /// <c>loadBalancerSourceRanges</c>: the API allows them for LoadBalancer services only. Read as kube-proxy reads
    /// them: whitespace around an entry trimmed (API validation lets it through), host bits allowed.
    /// </summary>
    private static List<IpPrefix> SourceRanges(V1ServiceSpec spec, ServiceType type, ObjectWarningCollector warn)
    {
        var ranges = new List<IpPrefix>();
        if (spec.LoadBalancerSourceRanges is not { Count: > 0 } given)
        {
            return ranges;
        }

        if (type != ServiceType.LoadBalancer)
        {
            warn.Add($"loadBalancerSourceRanges apply to a service of type LoadBalancer, this one is {type}; ignored");
            return ranges;
        }

        foreach (string text in given)
        {
            if (ApiAddresses.TryParseCidr(text.Trim(), out IpPrefix range))
            {
                if (!ranges.Contains(range))
                {
                    ranges.Add(range);
                }
            }
            else
            {
                warn.Add($"loadBalancerSourceRanges: '{text}' is not a CIDR; left out");
            }
        }

        return ranges;
    }
}
