using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Dataplane.Ingress.Tls;

/// <summary>
/// A certificate ready for TLS handshakes: the leaf with its private key, and the chain the server sends with it
/// (<c>tls.crt</c>'s intermediates), built once into an <see cref="SslStreamCertificateContext"/> that every handshake
/// shares, rather than per connection.
/// </summary>
public sealed class ServedCertificate
{
    public ServedCertificate(string source, X509Certificate2 certificate, X509Certificate2Collection intermediates)
    {
        Source = source;
        Certificate = certificate;
        // offline: the chain is what tls.crt holds; no AIA fetches from the handshake path.
        Context = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        DnsNames = [.. DnsNamesOf(certificate)];
    }

    /// <summary>Where it comes from: the Secret, <c>namespace/name</c>, or "fallback" for the self-signed one.</summary>
    public string Source { get; }

    public X509Certificate2 Certificate { get; }

    public SslStreamCertificateContext Context { get; }

    public string Subject => Certificate.Subject;

    public DateTimeOffset NotAfter => new(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    /// <summary>The subject alternative names of type DNS, for status and for matching hosts the TLS entry did not list.</summary>
    public IReadOnlyList<string> DnsNames { get; }

    private static IEnumerable<string> DnsNamesOf(X509Certificate2 certificate)
    {
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                foreach (string name in san.EnumerateDnsNames())
                {
                    yield return name;
                }
            }
        }
    }
}
