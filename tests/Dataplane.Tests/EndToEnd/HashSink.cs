using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Dataplane.Tests.EndToEnd;

/// <summary>Accepts one TCP connection, reads it to the end and returns the SHA-256 and length of what arrived.</summary>
public static class HashSink
{
    public sealed record Received(long Bytes, byte[] Sha256, EndPoint? Peer);

    public static async Task<Received> ReceiveOneAsync(Socket listener, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        using Socket connection = await listener.AcceptAsync(deadline.Token);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            long total = 0;
            int n;
            while ((n = await connection.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                total += n;
            }

            return new Received(total, hash.GetHashAndReset(), connection.RemoteEndPoint);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Sends <paramref name="payload"/> over a connected socket and closes the sending side.</summary>
    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> payload, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        const int Chunk = 64 * 1024;
        for (int offset = 0; offset < payload.Length; offset += Chunk)
        {
            ReadOnlyMemory<byte> slice = payload.Slice(offset, Math.Min(Chunk, payload.Length - offset));
            while (slice.Length > 0)
            {
                int sent = await socket.SendAsync(slice, SocketFlags.None, deadline.Token);
                slice = slice[sent..];
            }
        }

        socket.Shutdown(SocketShutdown.Send);
    }
}
