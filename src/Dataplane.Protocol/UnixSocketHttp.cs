using System.Net.Sockets;

namespace Dataplane.Protocol;

/// <summary>
/// HTTP over a Unix socket: how `ctl metrics`/`ctl health` reach the daemon's HTTP side and `dataplane ingress status`
/// reaches the controller. A file's permissions guard it, where a TCP port would be open to every local user.
/// </summary>
public static class UnixSocketHttp
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
