using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dataplane.Replay;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// The daemon's control socket: a Unix stream socket, mode 0600 in a 0700 directory (root only; there is no
/// TCP listener), speaking one JSON request line and one JSON response line per connection.
/// </summary>
public sealed class ControlServer : IDisposable
{
    private const int MaxRequestBytes = 1 << 20;

    private readonly NodeDaemon _daemon;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task? _acceptLoop;

    public ControlServer(string path, NodeDaemon daemon, ILogger logger)
    {
        Path = path;
        _daemon = daemon;
        _logger = logger;
    }

    public string Path { get; }

    public void Start()
    {
        string directory = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // We hold the node's instance lock, so a socket file here is a dead daemon's.
        File.Delete(Path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(Path));
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        // A runtime starting many pods at once connects once per pod (CNI ADD): room for a burst of them.
        listener.Listen(512);
        _listener = listener;
        _acceptLoop = AcceptLoopAsync(listener);
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        await using (var stream = new NetworkStream(client, ownsSocket: false))
        {
            ControlResponse response;
            try
            {
                string? line = await ReadLineAsync(PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)), _stop.Token).ConfigureAwait(false);
                ControlRequest? request = line is null ? null : JsonSerializer.Deserialize<ControlRequest>(line, ReplayRun.JsonOptions);
                if (request is { Command: "flows", Follow: true })
                {
                    await FollowFlowsAsync(client, stream).ConfigureAwait(false);
                    return;
                }

                if (request?.Command == "capture")
                {
                    // Not one answer line: the capture file streams in chunks, then the answer (see CaptureStream).
                    await ControlCommands.CaptureAsync(_daemon, request, stream, ReplayRun.JsonOptions.WithoutIndent(), _stop.Token).ConfigureAwait(false);
                    return;
                }

                response = request is null
                    ? new ControlResponse(false, "empty request", null)
                    : new ControlResponse(true, null, await ControlCommands.RunAsync(_daemon, request, _stop.Token).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or JsonException or IOException or KeyNotFoundException or FormatException)
            {
                response = new ControlResponse(false, ex.Message, null);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                // A bug in a command must not take the daemon down; the client hears about it.
                _logger.LogError(ex, "control request failed");
                response = new ControlResponse(false, $"internal error: {ex.GetType().Name}: {ex.Message}", null);
            }

            try
            {
                byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(response, ReplayRun.JsonOptions.WithoutIndent());
                await stream.WriteAsync(bytes).ConfigureAwait(false);
                await stream.WriteAsync("\n"u8.ToArray()).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                _logger.LogDebug(ex, "control client went away");
            }
        }
    }

    /// <summary>
    /// `ctl flows --follow`: one response line per flow event until the client closes its end (seen as EOF on a
    /// read that runs alongside) or the daemon stops.
    /// </summary>
    private async Task FollowFlowsAsync(Socket client, NetworkStream stream)
    {
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        _ = WatchForCloseAsync(client, gone);
        JsonSerializerOptions options = ReplayRun.JsonOptions.WithoutIndent();
        // Following before saying so: every event after the client reads "following" reaches it.
        using FlowEventFeed.Follower follower = _daemon.FlowEvents.Follow();
        try
        {
            await stream.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(new ControlResponse(true, null, "following"), options), gone.Token).ConfigureAwait(false);
            await stream.WriteAsync("\n"u8.ToArray(), gone.Token).ConfigureAwait(false);
            await foreach (Conntrack.FlowEvent e in follower.ReadAllAsync(gone.Token).ConfigureAwait(false))
            {
                object info = ControlCommands.DescribeEvent(in e, DateTime.UtcNow);
                byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(new ControlResponse(true, null, info), options);
                await stream.WriteAsync(bytes, gone.Token).ConfigureAwait(false);
                await stream.WriteAsync("\n"u8.ToArray(), gone.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            _logger.LogDebug("flow follower went away");
        }
    }

    private static async Task WatchForCloseAsync(Socket client, CancellationTokenSource gone)
    {
        byte[] buffer = new byte[64];
        try
        {
            while (await client.ReceiveAsync(buffer, SocketFlags.None, gone.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        try
        {
            await gone.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Reads one newline-terminated request (or everything up to EOF) from the byte stream.</summary>
    private static async Task<string?> ReadLineAsync(PipeReader reader, CancellationToken cancel)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync(cancel).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            SequencePosition? newline = buffer.PositionOf((byte)'\n');
            if (newline is not null || result.IsCompleted || buffer.Length > MaxRequestBytes)
            {
                ReadOnlySequence<byte> line = newline is null ? buffer : buffer.Slice(0, newline.Value);
                if (line.Length > MaxRequestBytes)
                {
                    throw new InvalidOperationException($"request larger than {MaxRequestBytes} bytes");
                }

                string text = Encoding.UTF8.GetString(line);
                await reader.CompleteAsync().ConfigureAwait(false);
                return text.Length == 0 ? null : text;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener?.Dispose();
        try
        {
            _acceptLoop?.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
        }

        File.Delete(Path);
        _stop.Dispose();
    }
}

internal static class JsonOptionsExtensions
{
    public static JsonSerializerOptions WithoutIndent(this JsonSerializerOptions options) => new(options) { WriteIndented = false };
}
