using System.Net.Sockets;
using System.Text;
using System.Runtime.Versioning;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// A TCP server in a pod: to every connection it first sends "NAME PEER\n" (its pod name and the client
/// address it sees, so tests learn which backend answered and whether the source was translated), then
/// echoes whatever it receives until the client closes.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class NameEchoServer : IDisposable
{
    private readonly Socket _listener;
    private readonly string _name;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _connections = [];
    private readonly Task _accepting;

    public NameEchoServer(NodeUnderTest node, string pod, int port)
    {
        _name = pod;
        _listener = PodServers.Listen(node, pod, port);
        _accepting = AcceptLoopAsync();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_connections)
        {
            foreach (Socket connection in _connections)
            {
                connection.Dispose();
            }
        }

        try
        {
            _accepting.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The loop ends with the listener's disposal.
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            lock (_connections)
            {
                _connections.Add(connection);
            }

            _ = ServeAsync(connection);
        }
    }

    private async Task ServeAsync(Socket connection)
    {
        try
        {
            await connection.SendAsync(Encoding.ASCII.GetBytes($"{_name} {connection.RemoteEndPoint}\n"), SocketFlags.None, _stop.Token);
            byte[] buffer = new byte[4096];
            int n;
            while ((n = await connection.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                await connection.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Client gone or server stopping.
        }
        finally
        {
            lock (_connections)
            {
                _connections.Remove(connection);
            }

            connection.Dispose();
        }
    }
}
