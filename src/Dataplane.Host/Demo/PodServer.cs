using System.Net;
using System.Net.Sockets;
using System.Text;
using Dataplane.Io.Netns;

namespace Dataplane.Demo;

/// <summary>
/// A tiny TCP server inside a pod's namespace that answers each connection with its pod name, so the demo
/// can see which backend a service connection reached. The listening socket is created on a thread inside
/// the namespace (a socket's namespace is fixed when it is created); accepting needs no namespace.
/// </summary>
public sealed class PodServer : IDisposable
{
    private readonly Socket _listener;
    private readonly Thread _thread;
    private readonly byte[] _greeting;

    public PodServer(string netns, string podName, int port)
    {
        using NetworkNamespace ns = NetworkNamespace.Open(netns);
        _listener = ns.Run(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            socket.Listen(128);
            return socket;
        });
        _greeting = Encoding.ASCII.GetBytes(podName + "\n");
        _thread = new Thread(Serve) { IsBackground = true, Name = $"demo-server-{podName}" };
        _thread.Start();
    }

    private void Serve()
    {
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
                    client.Send(_greeting);
                    client.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                    // The client gave up; the demo counts that on its side.
                }
            }
        }
    }

    /// <summary>Connects from inside <paramref name="netns"/> and returns the first line the server sends.</summary>
    public static async Task<string> AskAsync(string netns, IPAddress address, int port, TimeSpan timeout)
    {
        Socket socket;
        using (NetworkNamespace ns = NetworkNamespace.Open(netns))
        {
            socket = ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        }

        using (socket)
        using (var cancel = new CancellationTokenSource(timeout))
        {
            await socket.ConnectAsync(new IPEndPoint(address, port), cancel.Token).ConfigureAwait(false);
            byte[] buffer = new byte[256];
            int total = 0;
            int n;
            while ((n = await socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, cancel.Token).ConfigureAwait(false)) > 0)
            {
                total += n;
            }

            return Encoding.ASCII.GetString(buffer, 0, total).Trim();
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _thread.Join();
    }
}
