using System.Globalization;
using Dataplane.Kubernetes;
using Dataplane.Model;
using k8s.Models;

namespace Dataplane.Ingress.Routing;

/// <summary>
/// Resolves Ingress backends (<c>service.name</c> and <c>service.port.number</c> or <c>.name</c>) to endpoints, the
/// way the node resolves services: through <see cref="ServiceTranslator"/>, so a named <c>targetPort</c>, readiness
/// and duplicated addresses across EndpointSlices mean here exactly what they mean to the node. Each service is
/// translated once per snapshot, however many paths name it.
/// </summary>
internal sealed class ServiceBackends
{
    // Stand-in cluster IPs for a headless service: the translator wants one per family to accept that family's
    // endpoints, and the proxy never uses them (it connects to the endpoints). TEST-NET-1 and the documentation prefix.
    private const string PlaceholderV4 = "192.0.2.1";
    private const string PlaceholderV6 = "2001:db8::1";

    private readonly Dictionary<string, V1Service> _services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<V1EndpointSlice>> _slices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (ServiceConfig? Config, string? Problem)> _translated = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IngressBackend> _backends = new(StringComparer.Ordinal);

    public ServiceBackends(IEnumerable<V1Service> services, IEnumerable<V1EndpointSlice> slices)
    {
        foreach (V1Service service in services)
        {
            if (service.Metadata?.Name is { Length: > 0 } name)
            {
                _services[ServiceNames.Key(NamespaceOf(service.Metadata), name)] = service;
            }
        }

        foreach (V1EndpointSlice slice in slices)
        {
            if (ServiceTranslator.ServiceKeyOf(slice) is { } key)
            {
                (_slices.TryGetValue(key, out List<V1EndpointSlice>? list) ? list : _slices[key] = []).Add(slice);
            }
        }
    }

    /// <summary>The backend an Ingress in <paramref name="ns"/> names; its <see cref="IngressBackend.Problem"/> says why it has no destinations.</summary>
    public IngressBackend Resolve(string ns, V1IngressBackend backend)
    {
        if (backend.Resource is { } resource)
        {
            return new IngressBackend($"{ns}/{resource.Kind}:{resource.Name}", "", [],
                $"a resource backend ({resource.Kind} {resource.Name}), which this controller does not serve");
        }

        if (backend.Service is not { Name: { Length: > 0 } serviceName } service)
        {
            return new IngressBackend($"{ns}/", "", [], "the backend names no service");
        }

        string port = service.Port?.Number is { } number ? number.ToString(CultureInfo.InvariantCulture)
            : service.Port?.Name is { Length: > 0 } portName ? portName
            : "";
        string key = ServiceNames.Key(ns, serviceName);
        if (port.Length == 0)
        {
            return new IngressBackend(key, "", [], $"the backend for service {key} has no port number or name");
        }

        string backendKey = $"{key}:{port}";
        if (!_backends.TryGetValue(backendKey, out IngressBackend? resolved))
        {
            _backends[backendKey] = resolved = Resolve(key, port, service.Port!.Number);
        }

        return resolved;
    }

    private IngressBackend Resolve(string key, string port, int? number)
    {
        (ServiceConfig? config, string? problem) = Translate(key);
        if (config is null)
        {
            return new IngressBackend(key, port, [], problem);
        }

        int index = -1;
        for (int i = 0; i < config.Ports.Count; i++)
        {
            ServicePortConfig p = config.Ports[i];
            if (p.Protocol == L4Protocol.Tcp && (number is { } n ? p.Port == n : p.Name == port))
            {
                index = i;
                break;
            }
        }

        if (index < 0)
        {
            string ports = string.Join(", ", config.Ports.Where(static p => p.Protocol == L4Protocol.Tcp).Select(static p => p.Name is null ? $"{p.Port}" : $"{p.Port} ({p.Name})"));
            return new IngressBackend(key, port, [],
                $"service {key} has no TCP port {(number is null ? $"named '{port}'" : port)} (it has: {(ports.Length == 0 ? "none" : ports)})");
        }

        ServicePortConfig servicePort = config.Ports[index];
        var destinations = new List<string>();
        foreach (EndpointConfig endpoint in config.Endpoints)
        {
            // Not ready (starting, failing its probe, terminating): no new requests, as kube-proxy sends it no new flows.
            if (!endpoint.Terminating)
            {
                ushort target = endpoint.TargetPortFor(index, servicePort);
                destinations.Add(endpoint.Ip.IsV4 ? $"{endpoint.Ip}:{target}" : $"[{endpoint.Ip}]:{target}");
            }
        }

        return new IngressBackend(key, port, destinations, destinations.Count == 0 ? $"service {key} has no ready endpoint" : null);
    }

    private (ServiceConfig? Config, string? Problem) Translate(string key)
    {
        if (_translated.TryGetValue(key, out var done))
        {
            return done;
        }

        (ServiceConfig?, string?) result;
        if (!_services.TryGetValue(key, out V1Service? service))
        {
            result = (null, $"service {key} does not exist");
        }
        else if (service.Spec?.Type == "ExternalName")
        {
            result = (null, $"service {key} is of type ExternalName (a DNS alias), which this controller does not proxy to");
        }
        else if (service.Spec is null)
        {
            result = (null, $"service {key} has no spec");
        }
        else
        {
            ServiceTranslation translation = ServiceTranslator.Translate(View(service), _slices.TryGetValue(key, out List<V1EndpointSlice>? own) ? own : []);
            result = translation.Service is { } config
                ? (config, null)
                : (null, $"service {key} cannot be used: {string.Join("; ", translation.Warnings.Select(static w => w.Problem).DefaultIfEmpty(translation.SkipReason ?? "not translated"))}");
        }

        _translated[key] = result;
        return result;
    }

    /// <summary>
    /// The part of a Service a backend needs: its name, ports and cluster IP families. What the node alone cares about
    /// (type, node ports, external IPs, affinity, another proxy's label) is left out, so it neither warns here nor
    /// keeps a service from being a backend; a headless service gets stand-in cluster IPs, as ingress-nginx proxies
    /// to headless services' endpoints too.
    /// </summary>
    private static V1Service View(V1Service service)
    {
        V1ServiceSpec spec = service.Spec!;
        IList<string> ips = spec.ClusterIPs is { Count: > 0 } list ? list : spec.ClusterIP is { Length: > 0 } one ? [one] : [];
        if (ips.Count == 0 || ips[0] == "None")
        {
            IList<string> families = spec.IpFamilies is { Count: > 0 } given ? given : ["IPv4", "IPv6"];
            ips = [.. families.Select(static f => f == "IPv6" ? PlaceholderV6 : PlaceholderV4).Distinct()];
        }

        return new V1Service
        {
            Metadata = new V1ObjectMeta { Name = service.Metadata!.Name, NamespaceProperty = NamespaceOf(service.Metadata) },
            Spec = new V1ServiceSpec { Type = "ClusterIP", ClusterIP = ips[0], ClusterIPs = ips, Ports = spec.Ports },
        };
    }

    private static string NamespaceOf(V1ObjectMeta? metadata)
        => metadata?.NamespaceProperty is { Length: > 0 } ns ? ns : ServiceNames.DefaultNamespace;
}
