using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dataplane.Tests.Ingress;

/// <summary>
/// A pod behind the ingress, on its own loopback address: every request is answered with JSON saying which backend
/// answered and what it saw (Host, path, X-Forwarded-*); <c>?delayMs=N</c> answers N ms late; <c>/ws</c> is a WebSocket
/// that echoes each message as "name:message".
/// </summary>
internal sealed class IngressBackendServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;
    private int _inFlight;

    private IngressBackendServer(string name, WebApplication app)
    {
        Name = name;
        _app = app;
    }

    public string Name { get; }

    public IPEndPoint Endpoint { get; private set; } = null!;

    public string Ip => Endpoint.Address.ToString();

    public int Port => Endpoint.Port;

    /// <summary>Requests received since start (or the last <see cref="ResetCount"/>).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests being answered right now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Starts on <paramref name="ip"/> (127.0.0.0/8 is all loopback on Linux), on <paramref name="port"/> or one the kernel picks.</summary>
    public static async Task<IngressBackendServer> StartAsync(string name, string ip, int port = 0)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Parse(ip), port));
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(2));
        builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        var server = new IngressBackendServer(name, app);
        app.UseWebSockets();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Endpoint = new IPEndPoint(IPAddress.Parse(ip), new Uri(address).Port);
        return server;
    }

    public void ResetCount() => Interlocked.Exchange(ref _requests, 0);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Increment(ref _inFlight);
        try
        {
            if (context.WebSockets.IsWebSocketRequest)
            {
                await EchoAsync(await context.WebSockets.AcceptWebSocketAsync());
                return;
            }

            if (int.TryParse(context.Request.Query["delayMs"], out int delay))
            {
                await Task.Delay(delay, context.RequestAborted);
            }

            HttpRequest request = context.Request;
            var echo = new BackendEcho(Name, request.Host.Value ?? "", request.Path.Value ?? "", request.Protocol,
                request.Headers["X-Forwarded-For"].ToString(), request.Headers["X-Forwarded-Proto"].ToString(), request.Headers["X-Forwarded-Host"].ToString());
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(echo, BackendEcho.Json));
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task EchoAsync(WebSocket socket)
    {
        var buffer = new byte[4096];
        while (true)
        {
            WebSocketReceiveResult received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                return;
            }

            byte[] reply = Encoding.UTF8.GetBytes($"{Name}:{Encoding.UTF8.GetString(buffer, 0, received.Count)}");
            await socket.SendAsync(reply, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
    }
}

/// <summary>What a backend saw of a request.</summary>
internal sealed record BackendEcho(string Name, string Host, string Path, string Protocol, string XForwardedFor, string XForwardedProto, string XForwardedHost)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}
