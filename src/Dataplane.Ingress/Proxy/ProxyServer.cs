using System.Globalization;
using System.Net;
using System.Net.Security;
using Dataplane.Ingress.Routing;
using Dataplane.Ingress.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;

namespace Dataplane.Ingress.Proxy;

/// <summary>
/// The listeners clients reach: Kestrel on the HTTP address (HTTP/1.1) and the HTTPS
/// address (HTTP/1.1 and HTTP/2 by ALPN), routing with <see cref="IngressMatcherPolicy"/>, forwarding with YARP.
/// Each TLS handshake takes its certificate from the current snapshot by SNI (<see cref="TlsCertificates.Select"/>),
/// with the certificate's chain prebuilt, else the fallback certificate.
/// </summary>
public sealed class ProxyServer : IAsyncDisposable
{
    // The TLS handshake offers both; a client without ALPN speaks HTTP/1.1.
    private static readonly List<SslApplicationProtocol> s_alpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    private readonly WebApplication _app;

    private ProxyServer(WebApplication app, IPEndPoint http, IPEndPoint? https)
    {
        _app = app;
        HttpEndpoint = http;
        HttpsEndpoint = https;
    }

    /// <summary>Where HTTP is served (the port the kernel chose when asked for 0).</summary>
    public IPEndPoint HttpEndpoint { get; }

    public IPEndPoint? HttpsEndpoint { get; }

    /// <summary>Starts listening; an address that cannot be bound is an <see cref="IOException"/> naming it.</summary>
    public static async Task<ProxyServer> StartAsync(IngressOptions options, IngressProxyConfigProvider config, Func<RoutingSnapshot> current,
        ServedCertificate fallback, IngressMetrics metrics, ILoggerFactory loggers, CancellationToken cancel)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddSingleton(loggers);
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // HTTP/1.1 only in clear: Kestrel speaks h2c only on an HTTP/2-only endpoint, which HTTP/1.1 clients could not use.
            kestrel.Listen(options.Http, listen => listen.Protocols = HttpProtocols.Http1);
            if (options.Https is { } https)
            {
                kestrel.Listen(https, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        HandshakeTimeout = TimeSpan.FromSeconds(10),
                        OnConnection = context =>
                        {
                            ServedCertificate certificate = current().Certificates.Select(context.ClientHelloInfo.ServerName) ?? fallback;
                            return ValueTask.FromResult(new SslServerAuthenticationOptions
                            {
                                ServerCertificateContext = certificate.Context,
                                ApplicationProtocols = s_alpn,
                                ClientCertificateRequired = false,
                            });
                        },
                    });
                });
            }
        });
        // YARP's session affinity protects its cookies with Data Protection; none is configured, so keys live in
        // memory only (nothing written to disk, no warning about unencrypted keys at start).
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        builder.Services.AddReverseProxy();
        builder.Services.AddSingleton<IProxyConfigProvider>(config);
        builder.Services.AddSingleton<MatcherPolicy, IngressMatcherPolicy>();

        WebApplication app = builder.Build();
        var requests = new IngressRequests(metrics);
        app.UseRouting();
        app.Use(requests.InvokeAsync);
        app.MapReverseProxy().ConfigureEndpoints((endpoint, route) =>
        {
            if (route.Metadata is { } metadata
                && long.TryParse(metadata.GetValueOrDefault(ProxyConfigBuilder.GenerationKey), NumberStyles.None, CultureInfo.InvariantCulture, out long generation)
                && int.TryParse(metadata.GetValueOrDefault(ProxyConfigBuilder.RouteKey), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
                && config.SnapshotOf(generation) is { } snapshot && index < snapshot.Routes.Count)
            {
                endpoint.WithMetadata(new IngressEndpointMetadata(snapshot, snapshot.Routes[index]));
            }
        });

        try
        {
            await app.StartAsync(cancel).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"cannot listen on {options.Http}{(options.Https is null ? "" : $" and {options.Https}")}: {ex.Message}", ex);
        }

        (IPEndPoint http, IPEndPoint? httpsBound) = Bound(app, options);
        return new ProxyServer(app, http, httpsBound);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The addresses Kestrel bound, told apart by scheme (with port 0 asked, the kernel picked each).</summary>
    private static (IPEndPoint Http, IPEndPoint? Https) Bound(WebApplication app, IngressOptions options)
    {
        ICollection<string> addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        IPEndPoint http = options.Http;
        IPEndPoint? https = options.Https;
        foreach (string address in addresses)
        {
            var uri = new Uri(address);
            if (uri.Scheme == Uri.UriSchemeHttps && https is not null)
            {
                https = new IPEndPoint(https.Address, uri.Port);
            }
            else if (uri.Scheme == Uri.UriSchemeHttp)
            {
                http = new IPEndPoint(http.Address, uri.Port);
            }
        }

        return (http, https);
    }
}
