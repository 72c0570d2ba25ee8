using System.Collections.Frozen;
using Dataplane.Ingress.Routing;

namespace Dataplane.Ingress.Tls;

/// <summary>
/// The certificate for each TLS host of a snapshot, looked up by the client's SNI name the way requests find their
/// host: the exact name, else the one-label wildcard (<c>*.example.com</c> serves <c>a.example.com</c> only). No
/// match (or no SNI): null, and the listener answers with the fallback certificate, as ingress-nginx answers with its
/// fake one.
/// </summary>
public sealed class TlsCertificates
{
    private readonly FrozenDictionary<string, ServedCertificate> _exact;
    private readonly FrozenDictionary<string, ServedCertificate> _wildcard;

    public TlsCertificates(IReadOnlyDictionary<string, ServedCertificate> byHost)
    {
        ByHost = byHost;
        _exact = byHost.Where(static h => !h.Key.StartsWith("*.", StringComparison.Ordinal)).ToFrozenDictionary(StringComparer.Ordinal);
        _wildcard = byHost.Where(static h => h.Key.StartsWith("*.", StringComparison.Ordinal)).ToFrozenDictionary(static h => h.Key[2..], static h => h.Value, StringComparer.Ordinal);
    }

    public static TlsCertificates None { get; } = new(new Dictionary<string, ServedCertificate>());

    /// <summary>Each TLS host (lowercased, <c>*.</c> for wildcards) and its certificate.</summary>
    public IReadOnlyDictionary<string, ServedCertificate> ByHost { get; }

    /// <summary>The certificate for an SNI name; null when none is configured for it.</summary>
    public ServedCertificate? Select(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName))
        {
            return null;
        }

        string host = IngressHosts.Normalize(serverName);
        if (_exact.TryGetValue(host, out ServedCertificate? exact))
        {
            return exact;
        }

        return _wildcard.Count > 0 && IngressHosts.WildcardKeyOf(host) is { } key && _wildcard.TryGetValue(key, out ServedCertificate? wildcard)
            ? wildcard
            : null;
    }
}
