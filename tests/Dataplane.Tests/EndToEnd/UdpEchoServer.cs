using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Runtime.Versioning;

namespace Dataplane.Tests.EndToEnd;

/// <summary>A UDP server in a pod that answers every datagram with "NAME " + the datagram.</summary>
[SupportedOSPlatform("linux")]
public sealed class UdpEchoServer : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _prefix;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    public UdpEchoServer(NodeUnderTest node, string pod, int port)
    {
        _prefix = Encoding.ASCII.GetBytes(pod + " ");
        _socket = node.InNamespace(pod, () =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return socket;
        });
        _serving = ServeAsync();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try
        {
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Ends with the socket's disposal.
        }

        _stop.Dispose();
    }

    private async Task ServeAsync()
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                SocketReceiveFromResult received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
                byte[] reply = [.. _prefix, .. buffer.AsSpan(0, received.ReceivedBytes)];
                await _socket.SendToAsync(reply, SocketFlags.None, received.RemoteEndPoint, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
        }
    }
}
