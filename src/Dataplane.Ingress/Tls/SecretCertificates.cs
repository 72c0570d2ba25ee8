using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s.Models;

namespace Dataplane.Ingress.Tls;

/// <summary>
/// TLS Secrets (<c>type: kubernetes.io/tls</c>, PEM in <c>tls.crt</c> and <c>tls.key</c>) turned into certificates,
/// each parsed once per content: every snapshot asks again for every TLS host, and parsing a key costs a millisecond
/// or so, so a result is kept until a translation no longer asks for that Secret. Not thread-safe: one translation at a time.
/// </summary>
public sealed class SecretCertificates
{
    public const string TlsType = "kubernetes.io/tls";
    public const string CertificateKey = "tls.crt";
    public const string PrivateKeyKey = "tls.key";

    private readonly Dictionary<string, (byte[] Hash, ServedCertificate? Certificate, string? Problem)> _parsed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>The Secret's certificate, or null and what is wrong with it (a line that completes "Secret ns/name ...").</summary>
    /// <param name="key">The Secret's <c>namespace/name</c>.</param>
    public ServedCertificate? Load(string key, V1Secret? secret, out string? problem)
    {
        _used.Add(key);
        if (secret is null)
        {
            problem = "does not exist";
            return null;
        }

        // ingress-nginx also takes an Opaque Secret holding the two keys; so do we, only the data counts.
        byte[]? crt = secret.Data?.TryGetValue(CertificateKey, out byte[]? c) == true ? c : null;
        byte[]? pem = secret.Data?.TryGetValue(PrivateKeyKey, out byte[]? k) == true ? k : null;
        if (crt is null || pem is null)
        {
            problem = $"has no {(crt is null ? CertificateKey : PrivateKeyKey)} (type {secret.Type ?? "unset"}; a TLS Secret has {CertificateKey} and {PrivateKeyKey})";
            return null;
        }

        byte[] hash = Hash(crt, pem);
        if (_parsed.TryGetValue(key, out var cached) && cached.Hash.AsSpan().SequenceEqual(hash))
        {
            problem = cached.Problem;
            return cached.Certificate;
        }

        ServedCertificate? certificate = Parse(key, crt, pem, out problem);
        _parsed[key] = (hash, certificate, problem);
        return certificate;
    }

    /// <summary>Forgets the Secrets the last translation did not ask for (their certificates stay alive while a snapshot holds them).</summary>
    public void Sweep()
    {
        foreach (string key in _parsed.Keys.Where(k => !_used.Contains(k)).ToList())
        {
            // Not disposed: a handshake may still hold it through an older snapshot; the finalizer frees the key.
            _parsed.Remove(key);
        }

        _used.Clear();
    }

    private static ServedCertificate? Parse(string key, byte[] crt, byte[] pem, out string? problem)
    {
        string crtText = Encoding.ASCII.GetString(crt);
        string keyText = Encoding.ASCII.GetString(pem);
        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPem(crtText, keyText);
        }
        catch (CryptographicException e)
        {
            problem = $"cannot be used: {OneLine(e.Message)}";
            return null;
        }
        catch (ArgumentException e)
        {
            problem = $"cannot be used: {OneLine(e.Message)}";
            return null;
        }

        // tls.crt may carry the chain after the leaf (what cert-manager writes); the server sends it along.
        var intermediates = new X509Certificate2Collection();
        try
        {
            intermediates.ImportFromPem(crtText);
        }
        catch (CryptographicException)
        {
            // The leaf parsed, so this is a later block; serve the leaf alone.
        }

        foreach (X509Certificate2 c in intermediates.Where(c => c.Thumbprint == leaf.Thumbprint).ToList())
        {
            intermediates.Remove(c);
        }

        problem = leaf.NotAfter.ToUniversalTime() < DateTime.UtcNow
            ? $"holds a certificate that expired on {leaf.NotAfter.ToUniversalTime():yyyy-MM-dd}; served anyway"
            : null;
        return new ServedCertificate(key, leaf, intermediates);
    }

    private static byte[] Hash(byte[] crt, byte[] key)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(crt);
        sha.AppendData([0]);
        sha.AppendData(key);
        return sha.GetHashAndReset();
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
