using System.Net;
using System.Net.Sockets;
using System.Text;
using Dataplane.Io.Netns;

namespace Dataplane.Demo;

/// <summary>
/// A tiny TCP server inside a namespace (a pod's, or the demo's internet server) that answers each connection with
/// its name and the peer address it saw: <c>web-b1 192.168.77.10:61034</c>. The peer shows what NAT did on the way:
/// a node's address where the client was source-NATed (NodePort with the Cluster policy, pod egress masquerade), the
/// client's own where it was kept (the Local policy, pod to pod). It reads the request first (up to a blank line or
/// one line): an HTTP request (curl) gets an HTTP/1.0 answer with that line as the body, anything else (nc) the
/// line alone. The listening socket is created on a thread inside the namespace (a socket's namespace is fixed when
/// it is created); accepting needs no namespace.
/// </summary>
public sealed class PodServer : IDisposable
{
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(2);

    private readonly Socket _listener;
    private readonly Thread _thread;
    private readonly string _name;

    /// <param name="netns">The namespace to listen in, or null for the current one (`dataplane pod-server` in a container).</param>
    public PodServer(string? netns, string name, int port)
    {
        _name = name;
        if (netns is null)
        {
            _listener = Listen(port);
        }
        else
        {
            using NetworkNamespace ns = NetworkNamespace.Open(netns);
            _listener = ns.Run(() => Listen(port));
        }

        _thread = new Thread(Serve) { IsBackground = true, Name = $"demo-server-{name}" };
        _thread.Start();
    }

    /// <summary>Parses an answer line: the server's name and the peer address it saw.</summary>
    public static bool TryParse(string line, out string name, out string peer)
    {
        string[] parts = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        (name, peer) = parts.Length == 2 ? (parts[0], parts[1]) : ("", "");
        return parts.Length == 2;
    }

    /// <summary>The address part of a peer <c>IP:port</c>.</summary>
    public static string PeerAddress(string peer) => peer.LastIndexOf(':') is int colon and > 0 ? peer[..colon] : peer;

    private static Socket Listen(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(IPAddress.Any, port));
        socket.Listen(128);
        return socket;
    }

    private void Serve()
    {
        byte[] buffer = new byte[4096];
        while (true)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }

            using (client)
            {
                try
                {
                    client.ReceiveTimeout = (int)s_requestTimeout.TotalMilliseconds;
                    string request = ReadRequest(client, buffer);
                    string line = $"{_name} {client.RemoteEndPoint}\n";
                    string answer = request.StartsWith("GET ", StringComparison.Ordinal) || request.StartsWith("HEAD ", StringComparison.Ordinal)
                        ? $"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {line.Length}\r\nConnection: close\r\n\r\n{line}"
                        : line;
                    client.Send(Encoding.ASCII.GetBytes(answer));
                    client.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                    // The client gave up (or sent nothing in time); the demo counts that on its side.
                }
            }
        }
    }

    /// <summary>Reads until an HTTP request's blank line, a plain line's end, or EOF: the answer must not race the request (a close with unread data is a reset).</summary>
    private static string ReadRequest(Socket client, byte[] buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = client.Receive(buffer, total, buffer.Length - total, SocketFlags.None);
            if (n == 0)
            {
                break;
            }

            total += n;
            string text = Encoding.ASCII.GetString(buffer, 0, total);
            bool http = text.StartsWith("GET ", StringComparison.Ordinal) || text.StartsWith("HEAD ", StringComparison.Ordinal);
            if (http ? text.Contains("\r\n\r\n", StringComparison.Ordinal) : text.Contains('\n', StringComparison.Ordinal))
            {
                return text;
            }
        }

        return Encoding.ASCII.GetString(buffer, 0, total);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _thread.Join();
    }
}
