using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Dataplane.Daemon;

/// <summary>
/// How `ctl capture` answers on the control socket: the capture file's bytes in chunks, each a 4-byte big-endian
/// length and that many bytes, then a zero length, then the usual one-line JSON <see cref="ControlResponse"/>
/// (frames written and dropped, or the error that stopped it, possibly before any chunk). The client copies the
/// chunks to stdout (`-w -`) or a file, so the file is written where `ctl` runs, by whoever runs it.
/// </summary>
public static class CaptureStream
{
    /// <summary>The daemon's side: buffers writes and sends them as one chunk per flush (or per 64 KiB).</summary>
    public sealed class ChunkWriter(Stream socket) : Stream
    {
        private const int ChunkSize = 64 * 1024;
        private readonly byte[] _buffer = new byte[4 + ChunkSize];
        private int _used;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (!buffer.IsEmpty)
            {
                int n = Math.Min(buffer.Length, ChunkSize - _used);
                buffer[..n].CopyTo(_buffer.AsSpan(4 + _used));
                _used += n;
                buffer = buffer[n..];
                if (_used == ChunkSize)
                {
                    Flush();
                }
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
            if (_used == 0)
            {
                return;
            }

            BinaryPrimitives.WriteUInt32BigEndian(_buffer, (uint)_used);
            socket.Write(_buffer, 0, 4 + _used);
            _used = 0;
        }

        /// <summary>Sends what is left, the end marker and the response line.</summary>
        public void Finish(ControlResponse response, JsonSerializerOptions options)
        {
            Flush();
            socket.Write(new byte[4]);
            // One line, whatever the options say: the client reads exactly one.
            socket.Write(JsonSerializer.SerializeToUtf8Bytes(response, options.WriteIndented ? new JsonSerializerOptions(options) { WriteIndented = false } : options));
            socket.Write("\n"u8);
            socket.Flush();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>The client's side: copies chunks to <paramref name="output"/> until the end marker; returns the response.</summary>
    public static async Task<JsonDocument> ReceiveAsync(Stream socket, Stream output, CancellationToken cancel)
    {
        var length = new byte[4];
        byte[] chunk = new byte[64 * 1024];
        while (true)
        {
            await socket.ReadExactlyAsync(length, cancel).ConfigureAwait(false);
            int n = (int)BinaryPrimitives.ReadUInt32BigEndian(length);
            if (n == 0)
            {
                break;
            }

            if (n > chunk.Length)
            {
                chunk = new byte[n];
            }

            await socket.ReadExactlyAsync(chunk.AsMemory(0, n), cancel).ConfigureAwait(false);
            await output.WriteAsync(chunk.AsMemory(0, n), cancel).ConfigureAwait(false);
            await output.FlushAsync(cancel).ConfigureAwait(false);
        }

        using var reader = new StreamReader(socket, Encoding.UTF8, leaveOpen: true);
        string line = await reader.ReadLineAsync(cancel).ConfigureAwait(false)
            ?? throw new IOException("the dataplane closed the capture without its final answer");
        return JsonDocument.Parse(line);
    }
}
