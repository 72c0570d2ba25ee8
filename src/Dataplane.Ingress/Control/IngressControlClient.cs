using System.Net.Sockets;

namespace Dataplane.Ingress.Control;

/// <summary>HTTP over the controller's Unix socket: what <c>dataplane ingress status</c> uses.</summary>
public static class IngressControlClient
{
    /// <summary>GETs <paramref name="path"/>; the status code and body. Throws <see cref="HttpRequestException"/> when nothing answers.</summary>
    public static async Task<(int Status, string Body)> GetAsync(string socketPath, string path, CancellationToken cancel)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), token).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        using HttpResponseMessage response = await client.GetAsync(new Uri("http://localhost" + path), cancel).ConfigureAwait(false);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancel).ConfigureAwait(false));
    }
}
