using Dataplane.Model;
using Dataplane.Packets;
using k8s.Models;

namespace Dataplane.Kubernetes;

/// <summary>
/// A Service's EndpointSlices joined into one endpoint list, as kube-proxy's EndpointSliceCache joins them
/// (pkg/proxy/endpointslicecache.go):
/// <list type="bullet">
/// <item>A slice's ports are matched to the service's by name and protocol (kube-proxy's ServicePortName), and their
/// numbers are the endpoints' target ports. A named <c>targetPort</c> is resolved per pod by the EndpointSlice
/// controller, so two slices may give the same service port different numbers (a rolling update that renumbers the
/// container port): then the port's TargetPort is the most common number and each endpoint that differs carries its
/// own (<see cref="EndpointConfig.TargetPorts"/>).</item>
/// <item>Only an endpoint's first address is used (kube-proxy's; the API calls the others fungible).</item>
/// <item>An endpoint that is not ready (starting, failing its probe, or terminating) is kept as
/// <see cref="EndpointConfig.Terminating"/>: no new flows, its established ones kept, as kube-proxy leaves their
/// conntrack entries alone.</item>
/// <item>An address in two slices (endpoints move between slices while the controller rebalances) is one endpoint,
/// from a ready copy when there is one.</item>
/// </list>
/// </summary>
public static partial class ServiceTranslator
{
    /// <summary>One endpoint as a slice gives it, with the slice's number for each service port.</summary>
    private sealed record EndpointCandidate(IpAddress Ip, bool Ready, string? NodeName, ushort[] TargetPorts);

    /// <summary>The endpoints, sorted by address, and each service port's TargetPort.</summary>
    private static (List<EndpointConfig> Endpoints, ushort[] TargetPorts) Endpoints(
        string ns,
        string name,
        List<PortSpec> ports,
        bool hasV4,
        bool hasV6,
        IEnumerable<V1EndpointSlice> slices,
        ObjectWarningCollector warn)
    {
        var chosen = new Dictionary<IpAddress, EndpointCandidate>();

        // In name order, so which copy of a duplicated address wins does not depend on the order slices arrived in.
        foreach (V1EndpointSlice slice in slices.OrderBy(static s => s.Metadata?.Name, StringComparer.Ordinal))
        {
            if (ServiceKeyOf(slice) != ServiceNames.Key(ns, name))
            {
                throw new ArgumentException(
                    $"EndpointSlice {NamespaceOf(slice.Metadata)}/{slice.Metadata?.Name} is not labelled {ServiceNameLabel}={name} in namespace {ns}", nameof(slices));
            }

            ReadSlice(slice, ports, hasV4, hasV6, chosen, warn);
        }

        var targetPorts = new ushort[ports.Count];
        for (int i = 0; i < ports.Count; i++)
        {
            targetPorts[i] = chosen.Count == 0 ? ports[i].TargetPortWithoutEndpoints : MostCommon(chosen.Values, i);
        }

        var endpoints = new List<EndpointConfig>(chosen.Count);
        foreach (EndpointCandidate c in chosen.Values.OrderBy(static c => c.Ip.Bits.ToUInt128()))
        {
            endpoints.Add(new EndpointConfig(c.Ip, 1, !c.Ready, c.NodeName)
            {
                TargetPorts = c.TargetPorts.AsSpan().SequenceEqual(targetPorts) ? null : c.TargetPorts,
            });
        }

        return (endpoints, targetPorts);
    }

    private static void ReadSlice(
        V1EndpointSlice slice,
        List<PortSpec> ports,
        bool hasV4,
        bool hasV6,
        Dictionary<IpAddress, EndpointCandidate> chosen,
        ObjectWarningCollector warn)
    {
        // The controller's placeholder slice for a service without pods has neither endpoints nor ports: nothing to say.
        if (slice.Endpoints is not { Count: > 0 } endpoints)
        {
            return;
        }

        string label = $"EndpointSlice {slice.Metadata?.Name}";
        string leftOut = endpoints.Count == 1 ? "its endpoint is left out" : $"its {endpoints.Count} endpoints are left out";
        bool v4;
        switch (slice.AddressType)
        {
            case "IPv4":
                v4 = true;
                break;
            case "IPv6":
                v4 = false;
                break;
            case "FQDN":
                warn.Add($"{label} has addressType FQDN (names, not addresses), which kube-proxy does not proxy either: {leftOut}");
                return;
            default:
                warn.Add($"{label} has addressType '{slice.AddressType}', not IPv4, IPv6 or FQDN: {leftOut}");
                return;
        }

        if (v4 ? !hasV4 : !hasV6)
        {
            string family = ApiAddresses.Family(v4);
            warn.Add($"{label} holds {family} addresses but the service has no {family} cluster IP: {leftOut}");
            return;
        }

        var missing = new List<string>();
        ushort[] targetPorts = SliceTargetPorts(slice, ports, missing);
        if (missing.Count > 0)
        {
            // kube-proxy would still use them for the ports the slice does define; an endpoint here serves every port
            // of its service or none, and one without a port number cannot serve that port.
            warn.Add($"{label} defines no port {string.Join(" or ", missing)} of the service: {leftOut}");
            return;
        }

        var unusable = new List<string>();
        foreach (V1Endpoint endpoint in endpoints)
        {
            // kube-proxy uses addresses[0] only: "these are all assumed to be fungible and clients may choose to only
            // use the first element" (https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoint-slice-v1/).
            string? address = endpoint.Addresses?.FirstOrDefault();
            if (!ApiAddresses.TryParseUnicast(address, out IpAddress ip) || ip.IsV4 != v4)
            {
                unusable.Add(address ?? "(no address)");
                continue;
            }

            // ready: nil means ready (the API's reading and kube-proxy's). serving and terminating change nothing here:
            // every endpoint that is not ready takes no new flows, whichever of them it is.
            bool ready = endpoint.Conditions?.Ready ?? true;
            var candidate = new EndpointCandidate(ip, ready, string.IsNullOrEmpty(endpoint.NodeName) ? null : endpoint.NodeName, targetPorts);
            if (!chosen.TryGetValue(ip, out EndpointCandidate? existing) || (ready && !existing.Ready))
            {
                chosen[ip] = candidate;
            }
        }

        if (unusable.Count > 0)
        {
            warn.Add($"{label}: {(unusable.Count == 1 ? "an endpoint" : $"{unusable.Count} endpoints")} without a {ApiAddresses.Family(v4)} unicast address ({ApiAddresses.Examples(unusable)}) left out");
        }
    }

    /// <summary>
    /// The slice's number for each service port, matched by name and protocol; each port the slice lacks is added to
    /// <paramref name="missing"/>. A slice port without a name matches the unnamed service port (kube-proxy ignores a
    /// nil name, but the API writes "", and a hand-written file may leave it out); one without a number does not match.
    /// </summary>
    private static ushort[] SliceTargetPorts(V1EndpointSlice slice, List<PortSpec> ports, List<string> missing)
    {
        var numbers = new ushort[ports.Count];
        for (int i = 0; i < ports.Count; i++)
        {
            PortSpec port = ports[i];
            int? number = slice.Ports?.FirstOrDefault(p => (p.Name ?? "") == port.Name && (p.Protocol ?? "TCP") == port.Protocol && p.Port is >= 1 and <= 65535)?.Port;
            if (number is { } found)
            {
                numbers[i] = (ushort)found;
            }
            else
            {
                missing.Add(port.Describe());
            }
        }

        return numbers;
    }

    /// <summary>The number most endpoints use for port <paramref name="index"/>; on a tie the lowest, so the choice is stable.</summary>
    private static ushort MostCommon(IEnumerable<EndpointCandidate> endpoints, int index)
    {
        var counts = new Dictionary<ushort, int>();
        foreach (EndpointCandidate e in endpoints)
        {
            counts[e.TargetPorts[index]] = counts.GetValueOrDefault(e.TargetPorts[index]) + 1;
        }

        return counts.OrderByDescending(static c => c.Value).ThenBy(static c => c.Key).First().Key;
    }
}
