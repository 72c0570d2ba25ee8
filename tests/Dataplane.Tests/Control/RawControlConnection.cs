using System.Net.Sockets;
using System.Text;

namespace Dataplane.Tests.Control;

/// <summary>A bare connection to a daemon's control socket, for tests that misbehave as clients (idle, flooding).</summary>
public sealed class RawControlConnection : IDisposable
{
    private readonly Socket _socket;

    private RawControlConnection(Socket socket) => _socket = socket;

    public static RawControlConnection Open(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return new RawControlConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Send(string line) => _socket.Send(Encoding.UTF8.GetBytes(line + "\n"));

    /// <summary>Everything the daemon sends until it closes the connection; throws if it is still open at the deadline.</summary>
    public string ReadToClose(TimeSpan timeout)
    {
        _socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        var received = new StringBuilder();
        byte[] buffer = new byte[4096];
        try
        {
            int n;
            while ((n = _socket.Receive(buffer)) > 0)
            {
                received.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TimedOut || ex.SocketErrorCode == SocketError.WouldBlock)
        {
            throw new TimeoutException($"the daemon kept the connection open for {timeout.TotalSeconds} s (received so far: '{received}')", ex);
        }

        return received.ToString();
    }

    /// <summary>Whether the daemon has sent nothing and not closed: the socket is not readable (data or EOF would be).</summary>
    public bool IsQuietAndOpen() => !_socket.Poll(0, SelectMode.SelectRead);

    public void Dispose() => _socket.Dispose();
}
