using Dataplane.Ingress.Tls;
using Dataplane.Kubernetes;
using Dataplane.Model;
using k8s.Models;

namespace Dataplane.Ingress.Routing;

/// <summary>
/// One run of <see cref="IngressTranslator"/>: the hosts, routes, TLS hosts and warnings gathered so far, as Ingresses
/// are added oldest first (so whatever is already here wins a conflict).
/// </summary>
internal sealed class IngressTranslation(ServiceBackends backends, IEnumerable<V1Secret> secrets, SecretCertificates certificates)
{
    private readonly Dictionary<string, HostBuilder> _hosts = new(StringComparer.Ordinal);
    private readonly List<IngressRoute> _routes = [];
    private readonly Dictionary<string, (ServedCertificate Certificate, string Ingress)> _tls = new(StringComparer.Ordinal);
    private readonly List<ObjectWarning> _warnings = [];
    private readonly Dictionary<string, V1Secret> _secrets = secrets
        .Where(static s => !string.IsNullOrEmpty(s.Metadata?.Name))
        .GroupBy(static s => ServiceNames.Key(NamespaceOf(s.Metadata), s.Metadata.Name), StringComparer.Ordinal)
        .ToDictionary(static g => g.Key, static g => g.Last(), StringComparer.Ordinal);

    public static string KeyOf(V1Ingress ingress) => ServiceNames.Key(NamespaceOf(ingress.Metadata), ingress.Metadata.Name);

    public void Add(V1Ingress ingress)
    {
        string ns = NamespaceOf(ingress.Metadata);
        string name = ingress.Metadata.Name;
        string key = ServiceNames.Key(ns, name);
        void Warn(string problem) => _warnings.Add(new ObjectWarning("Ingress", ns, name, problem));

        if (ingress.Spec is not { } spec)
        {
            Warn("has no spec: nothing to serve");
            return;
        }

        IngressBackend? defaultBackend = null;
        if (spec.DefaultBackend is { } given)
        {
            defaultBackend = Backend(ns, given, "defaultBackend", Warn);
        }

        IList<V1IngressRule> rules = spec.Rules ?? [];
        if (defaultBackend is not null && rules.Count == 0)
        {
            HostBuilder anyHost = Host("", key);
            if (anyHost.Fallback is { } older)
            {
                Warn($"defaultBackend is not used: Ingress {older.Ingress} is older and already answers the requests no rule matches");
            }
            else
            {
                anyHost.Fallback = Route(key, "", null, defaultBackend);
            }
        }

        var ruleHosts = new List<string>();
        for (int i = 0; i < rules.Count; i++)
        {
            V1IngressRule rule = rules[i];
            if (IngressHosts.Parse(rule.Host, out _, out _, out string? hostProblem) is not { } host)
            {
                Warn($"rules[{i}]: {hostProblem}; the rule is left out");
                continue;
            }

            bool created = !_hosts.ContainsKey(host);
            HostBuilder hostRoutes = Host(host, key);
            if (host.Length > 0)
            {
                ruleHosts.Add(host);
                if (created && defaultBackend is not null)
                {
                    hostRoutes.Fallback = Route(key, host, null, defaultBackend);
                }
                else if (!created && defaultBackend is not null && hostRoutes.FirstIngress != key && ruleHosts.IndexOf(host) == ruleHosts.Count - 1)
                {
                    Warn($"defaultBackend is not used for host {host}: Ingress {hostRoutes.FirstIngress} is older and defines that host first");
                }
            }

            IList<V1HTTPIngressPath> paths = rule.Http?.Paths ?? [];
            for (int j = 0; j < paths.Count; j++)
            {
                AddPath(key, host, hostRoutes, paths[j], $"rules[{i}].http.paths[{j}]", Warn);
            }
        }

        AddTls(ns, key, spec.Tls ?? [], ruleHosts, Warn);
    }

    public RoutingSnapshot Build(long generation, int ingresses, int ignored)
    {
        var hosts = _hosts.Values.Select(static h => new HostRoutes(h.Host, h.Paths, h.Fallback)).ToList();
        var certificates = new TlsCertificates(_tls.ToDictionary(static t => t.Key, static t => t.Value.Certificate, StringComparer.Ordinal));
        return new RoutingSnapshot(generation, _routes, hosts, certificates, _warnings, ingresses, ignored);
    }

    private void AddPath(string key, string host, HostBuilder hostRoutes, V1HTTPIngressPath given, string where, Action<string> warn)
    {
        IngressPathType type;
        switch (given.PathType)
        {
            case "Exact":
                type = IngressPathType.Exact;
                break;
            case "Prefix":
                type = IngressPathType.Prefix;
                break;
            case "ImplementationSpecific":
                type = IngressPathType.ImplementationSpecific;
                break;
            case null or "":
                // Required by networking.k8s.io/v1; only a file written by hand leaves it out.
                warn($"{where}: no pathType (required in networking.k8s.io/v1); treated as ImplementationSpecific, which this controller matches as Prefix");
                type = IngressPathType.ImplementationSpecific;
                break;
            default:
                warn($"{where}: pathType '{given.PathType}' is not Exact, Prefix or ImplementationSpecific; the path is left out");
                return;
        }

        if (IngressPath.Create(given.Path, type, out string? pathProblem) is not { } path)
        {
            warn($"{where}: {pathProblem}; the path is left out");
            return;
        }

        string described = $"host {(host.Length == 0 ? "*" : host)} path {path.Path} ({type})";
        if (given.Backend is null)
        {
            warn($"{described}: no backend; the path is left out");
            return;
        }

        if (hostRoutes.ByMatch.TryGetValue(path.MatchKey, out IngressRoute? existing))
        {
            warn(existing.Ingress == key
                ? $"{described} is defined twice in this Ingress; the first (backend {existing.Backend}) is used"
                : $"{described} conflicts with Ingress {existing.Ingress}, which is older and wins (backend {existing.Backend}); this Ingress's backend {Describe(given.Backend)} is not used for it");
            return;
        }

        IngressBackend backend = Backend(NamespaceOf(key), given.Backend, described, warn);
        IngressRoute route = Route(key, host, path, backend);
        hostRoutes.Paths.Add(route);
        hostRoutes.ByMatch[path.MatchKey] = route;
    }

    private void AddTls(string ns, string key, IList<V1IngressTLS> entries, List<string> ruleHosts, Action<string> warn)
    {
        var own = new List<ServedCertificate>();
        for (int i = 0; i < entries.Count; i++)
        {
            V1IngressTLS entry = entries[i];
            IList<string> hosts = entry.Hosts ?? [];
            string which = hosts.Count == 0 ? "its hosts" : string.Join(", ", hosts);
            if (string.IsNullOrEmpty(entry.SecretName))
            {
                warn($"tls[{i}]: no secretName; {which} get the fallback certificate");
                continue;
            }

            string secretKey = ServiceNames.Key(ns, entry.SecretName);
            ServedCertificate? certificate = certificates.Load(secretKey, _secrets.GetValueOrDefault(secretKey), out string? problem);
            if (certificate is null)
            {
                warn($"tls[{i}]: Secret {secretKey} {problem}; {which} get the fallback certificate");
                continue;
            }

            if (problem is not null)
            {
                warn($"tls[{i}]: Secret {secretKey} {problem}");
            }

            own.Add(certificate);
            foreach (string given in hosts)
            {
                if (IngressHosts.Parse(given, out _, out _, out string? hostProblem) is not { Length: > 0 } host)
                {
                    warn($"tls[{i}]: {hostProblem ?? "an empty host"}; left out");
                    continue;
                }

                if (_tls.TryGetValue(host, out var taken))
                {
                    if (taken.Certificate.Source != certificate.Source)
                    {
                        warn($"tls[{i}]: host {host} conflicts with Ingress {taken.Ingress}, which is older and wins (Secret {taken.Certificate.Source}); Secret {secretKey} is not used for it");
                    }

                    continue;
                }

                _tls[host] = (certificate, key);
            }
        }

        // A rule host no TLS entry lists: a certificate of this Ingress whose names cover it (ingress-nginx's extractTLSSecretName).
        foreach (string host in ruleHosts.Distinct())
        {
            if (!_tls.ContainsKey(host) && !host.StartsWith("*.", StringComparison.Ordinal)
                && own.FirstOrDefault(c => c.Certificate.MatchesHostname(host)) is { } covering)
            {
                _tls[host] = (covering, key);
            }
        }
    }

    private IngressBackend Backend(string ns, V1IngressBackend given, string where, Action<string> warn)
    {
        IngressBackend backend = backends.Resolve(ns, given);
        if (backend.Problem is { } problem)
        {
            warn($"{where}: {problem}; answers 503");
        }

        return backend;
    }

    private static string Describe(V1IngressBackend backend)
        => backend.Service is { } service ? $"{service.Name}:{service.Port?.Number?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? service.Port?.Name}" : "(not a service)";

    private IngressRoute Route(string ingress, string host, IngressPath? path, IngressBackend backend)
    {
        var route = new IngressRoute(_routes.Count, ingress, host, path, backend);
        _routes.Add(route);
        return route;
    }

    private HostBuilder Host(string host, string ingress)
    {
        if (!_hosts.TryGetValue(host, out HostBuilder? builder))
        {
            _hosts[host] = builder = new HostBuilder(host, ingress);
        }

        return builder;
    }

    private static string NamespaceOf(V1ObjectMeta? metadata)
        => metadata?.NamespaceProperty is { Length: > 0 } ns ? ns : ServiceNames.DefaultNamespace;

    private static string NamespaceOf(string key) => ServiceNames.Split(key).Namespace;

    /// <summary>One host's routes while Ingresses are added.</summary>
    private sealed class HostBuilder(string host, string firstIngress)
    {
        public string Host { get; } = host;

        /// <summary>The Ingress that named the host first (the oldest), whose default backend the host has.</summary>
        public string FirstIngress { get; } = firstIngress;

        public List<IngressRoute> Paths { get; } = [];

        public Dictionary<string, IngressRoute> ByMatch { get; } = new(StringComparer.Ordinal);

        public IngressRoute? Fallback { get; set; }
    }
}
