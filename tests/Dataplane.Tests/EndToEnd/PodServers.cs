using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Runtime.Versioning;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// Small servers whose sockets are created inside a pod's namespace (<see cref="NodeUnderTest.InNamespace"/>)
/// and then served asynchronously from the test process: the socket's namespace is fixed at creation.
/// </summary>
[SupportedOSPlatform("linux")]
public static class PodServers
{
    /// <summary>A listening TCP socket on 0.0.0.0:port (or <paramref name="address"/>) inside a namespace.</summary>
    public static Socket Listen(NodeUnderTest node, string podOrNamespace, int port, string? address = null) =>
        node.InNamespace(podOrNamespace, () =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(new IPEndPoint(address is null ? IPAddress.Any : IPAddress.Parse(address), port));
                socket.Listen(256);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        });

    /// <summary>A TCP connection from inside a pod to <paramref name="ip"/>:<paramref name="port"/>, with a deadline.</summary>
    public static async Task<Socket> ConnectAsync(NodeUnderTest node, string pod, string ip, int port, TimeSpan timeout)
    {
        Socket socket = node.Socket(pod, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(ip), port), deadline.Token);
            return socket;
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            throw new TimeoutException($"connecting from pod {pod} to {ip}:{port} took longer than {timeout.TotalSeconds} s");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reads one '\n'-terminated line (ASCII) from a stream socket, with a deadline.</summary>
    public static async Task<string> ReadLineAsync(Socket socket, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            int n = await socket.ReceiveAsync(one, SocketFlags.None, deadline.Token);
            if (n == 0)
            {
                throw new EndOfStreamException($"connection closed after '{line}'");
            }

            if (one[0] == (byte)'\n')
            {
                return line.ToString();
            }

            line.Append((char)one[0]);
        }
    }

    /// <summary>Receives exactly <paramref name="buffer"/>.Length bytes.</summary>
    public static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancel)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer[done..], SocketFlags.None, cancel);
            if (n == 0)
            {
                throw new EndOfStreamException($"connection closed after {done} of {buffer.Length} bytes");
            }

            done += n;
        }
    }
}
