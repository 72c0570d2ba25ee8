using static Dataplane.Tests.Ingress.IngressModels;

namespace Dataplane.Tests.Ingress;

/// <summary>
/// One controller and three backends shared by <see cref="IngressProxyTests"/> (the objects never change there):
/// <list type="bullet">
/// <item>a.example.com: <c>/</c> to alpha (by port name, a named targetPort), <c>/beta</c> to beta (by port number),
/// Exact <c>/empty</c> to a service without endpoints; TLS from Secret a-tls;</item>
/// <item>*.wild.example.com to beta, TLS from wild-tls (a wildcard certificate);</item>
/// <item>ws.example.com to gamma (WebSockets);</item>
/// <item>an Ingress of class nginx claiming a.example.com/beta for gamma, which must be ignored.</item>
/// </list>
/// </summary>
public sealed class IngressProxyFixture : IAsyncLifetime
{
    private const string Ns = "shop";

    internal IngressBackendServer Alpha { get; private set; } = null!;

    internal IngressBackendServer Beta { get; private set; } = null!;

    internal IngressBackendServer Gamma { get; private set; } = null!;

    internal RunningIngress Ingress { get; private set; } = null!;

    internal TestCertificate ACertificate { get; } = TestCertificate.Create("a.example.com");

    internal TestCertificate WildCertificate { get; } = TestCertificate.Create("*.wild.example.com");

    public async Task InitializeAsync()
    {
        Alpha = await IngressBackendServer.StartAsync("alpha", "127.0.0.11");
        Beta = await IngressBackendServer.StartAsync("beta", "127.0.0.12");
        Gamma = await IngressBackendServer.StartAsync("gamma", "127.0.0.13");
        Ingress = await RunningIngress.StartFromFileAsync(
        [
            ServiceObject(Ns, "alpha", "10.96.0.11", ("http", 80, "web")),
            Slice(Ns, "alpha", "alpha-1", [("http", Alpha.Port)], (Alpha.Ip, true)),
            ServiceObject(Ns, "beta", "10.96.0.12", (null, 8080, Beta.Port)),
            Slice(Ns, "beta", "beta-1", [(null, Beta.Port)], (Beta.Ip, true)),
            ServiceObject(Ns, "gamma", "10.96.0.13", ("http", 80, Gamma.Port)),
            Slice(Ns, "gamma", "gamma-1", [("http", Gamma.Port)], (Gamma.Ip, true)),
            ServiceObject(Ns, "empty", "10.96.0.14", ("http", 80, 8080)),
            TlsSecret(Ns, "a-tls", ACertificate.CertificatePem, ACertificate.KeyPem),
            TlsSecret(Ns, "wild-tls", WildCertificate.CertificatePem, WildCertificate.KeyPem),
            IngressObject(Ns, "web",
            [
                Rule("a.example.com", Path("/", "Prefix", "alpha", "http"), Path("/beta", "Prefix", "beta", 8080), Path("/empty", "Exact", "empty", 80)),
                Rule("*.wild.example.com", Path("/", "Prefix", "beta", 8080)),
                Rule("ws.example.com", Path("/", "Prefix", "gamma", "http")),
            ], tls: [Tls("a-tls", "a.example.com"), Tls("wild-tls", "*.wild.example.com")]),
            IngressObject(Ns, "someone-elses", [Rule("a.example.com", Path("/beta", "Prefix", "gamma", "http"))], className: "nginx"),
        ]);
    }

    public async Task DisposeAsync()
    {
        await Ingress.DisposeAsync();
        await Alpha.DisposeAsync();
        await Beta.DisposeAsync();
        await Gamma.DisposeAsync();
    }
}
