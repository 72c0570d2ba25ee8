using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Dataplane.Ingress.Tls;

/// <summary>
/// What the HTTPS listener presents when no Ingress has a certificate for the SNI name (or the client sent none, or the
/// host's Secret is broken): a self-signed certificate made at start, as ingress-nginx presents its "Kubernetes Ingress
/// Controller Fake Certificate". Clients that verify refuse it, which is the point: the host has no certificate.
/// </summary>
public static class FallbackCertificate
{
    public const string Subject = "CN=Dataplane Ingress Fallback Certificate, O=Dataplane";

    public static ServedCertificate Create()
    {
        // ECDSA P-256: a handshake signs with it, and P-256 signs an order of magnitude faster than RSA-2048.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Subject, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("ingress.local");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        X509Certificate2 certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
        return new ServedCertificate("fallback", certificate, []);
    }
}
