using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Dataplane.Tests.Ingress;

/// <summary>Certificates made in the test, as <c>openssl req -x509</c> would make them, in the PEM a TLS Secret holds.</summary>
internal sealed record TestCertificate(string Subject, string CertificatePem, string KeyPem, string Thumbprint)
{
    /// <summary>A self-signed server certificate for <paramref name="dnsNames"/> (the first is its CN), valid from yesterday.</summary>
    public static TestCertificate Create(params string[] dnsNames) => Create(DateTimeOffset.UtcNow.AddYears(1), dnsNames);

    public static TestCertificate Create(DateTimeOffset notAfter, params string[] dnsNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsNames[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (string name in dnsNames)
        {
            san.AddDnsName(name);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using X509Certificate2 certificate = request.CreateSelfSigned(notAfter.AddYears(-2), notAfter);
        return new TestCertificate(certificate.Subject, certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(), certificate.Thumbprint);
    }
}
