using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dataplane.Replay;

namespace Dataplane.Daemon;

/// <summary>The client side of the control socket (what `dataplane ctl` uses).</summary>
public static class ControlClient
{
    /// <summary>Sends one request and returns the response's JSON document. Throws IOException when no daemon listens.</summary>
    public static async Task<JsonDocument> SendAsync(string socketPath, ControlRequest request, CancellationToken cancel = default)
    {
        await using NetworkStream stream = await ConnectAndSendAsync(socketPath, request, cancel).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string response = await reader.ReadLineAsync(cancel).ConfigureAwait(false)
            ?? throw new IOException($"the dataplane on {socketPath} closed the connection without answering");
        return JsonDocument.Parse(response);
    }

    /// <summary>
    /// Sends one request and yields every response line until the daemon closes the connection or
    /// <paramref name="cancel"/> (`ctl flows --follow`). Closing our end tells the daemon to stop.
    /// </summary>
    public static async IAsyncEnumerable<JsonDocument> StreamAsync(string socketPath, ControlRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel = default)
    {
        await using NetworkStream stream = await ConnectAndSendAsync(socketPath, request, cancel).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancel).ConfigureAwait(false) is { } response)
        {
            yield return JsonDocument.Parse(response);
        }
    }

    /// <summary>
    /// Sends a capture request, copies the capture file it streams back to <paramref name="output"/> as it comes,
    /// and returns the final response (see <see cref="CaptureStream"/>).
    /// </summary>
    public static async Task<JsonDocument> CaptureAsync(string socketPath, ControlRequest request, Stream output, CancellationToken cancel = default)
    {
        await using NetworkStream stream = await ConnectAndSendAsync(socketPath, request, cancel).ConfigureAwait(false);
        try
        {
            return await CaptureStream.ReceiveAsync(stream, output, cancel).ConfigureAwait(false);
        }
        catch (EndOfStreamException ex)
        {
            throw new IOException($"the dataplane on {socketPath} closed the capture stream early", ex);
        }
    }

    /// <summary>Where daemons put their control sockets by default (dataplane.controlSocket).</summary>
    private const string DefaultDirectory = "/run/dataplane";

    /// <summary>
    /// The socket to talk to: the one given, else the config's, else the only one under /run/dataplane
    /// (a node runs one daemon, so usually there is exactly one).
    /// </summary>
    public static string ResolveSocket(string? socket, string? controlSocketFromConfig)
    {
        if (socket is not null)
        {
            return socket;
        }

        if (controlSocketFromConfig is not null)
        {
            return controlSocketFromConfig;
        }

        string[] found;
        try
        {
            found = Directory.Exists(DefaultDirectory) ? Directory.GetFiles(DefaultDirectory, "*.sock") : [];
        }
        catch (UnauthorizedAccessException)
        {
            // The daemon makes the directory 0700: only root may look for sockets in it (or connect to them).
            throw new IOException($"cannot look for a control socket in {DefaultDirectory}: permission denied; run `dataplane ctl` as root (or pass --socket)");
        }

        return found.Length switch
        {
            1 => found[0],
            0 => throw new IOException($"no dataplane control socket under {DefaultDirectory}; is `dataplane run` running? (or pass --socket / --config)"),
            _ => throw new IOException($"several dataplanes are running ({string.Join(", ", found)}); pick one with --socket or --config"),
        };
    }

    /// <summary>How long a connect retries while the daemon's accept queue is full (a burst of clients).</summary>
    private static readonly TimeSpan s_fullQueuePatience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Connects, retrying while the listen queue is full: a Unix socket's non-blocking connect fails with EAGAIN
    /// then, rather than waiting (a burst of CNI ADDs, or a flood of connections the daemon is turning away).
    /// </summary>
    private static async Task<Socket> ConnectAsync(string socketPath, CancellationToken cancel)
    {
        DateTime giveUp = DateTime.UtcNow + s_fullQueuePatience;
        TimeSpan pause = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancel).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.TryAgain && DateTime.UtcNow < giveUp)
            {
                socket.Dispose();
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AccessDenied)
            {
                socket.Dispose();
                throw new IOException($"cannot connect to {socketPath}: permission denied; run `dataplane ctl` as root", ex);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                throw new IOException($"no dataplane is listening on {socketPath} ({ex.Message})", ex);
            }

            await Task.Delay(pause, cancel).ConfigureAwait(false);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(200).Ticks));
        }
    }

    /// <summary>Connects to the daemon and sends one request line; the answer is read from the stream, which owns the socket.</summary>
    private static async Task<NetworkStream> ConnectAndSendAsync(string socketPath, ControlRequest request, CancellationToken cancel)
    {
        Socket socket = await ConnectAsync(socketPath, cancel).ConfigureAwait(false);

        var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            byte[] line = JsonSerializer.SerializeToUtf8Bytes(request, ReplayRun.JsonOptions.WithoutIndent());
            await stream.WriteAsync(line, cancel).ConfigureAwait(false);
            await stream.WriteAsync("\n"u8.ToArray(), cancel).ConfigureAwait(false);
            return stream;
        }
        catch (IOException)
        {
            // The daemon refused the connection (busy, or not our user) and closed it before the request went out:
            // its one-line reason is still there to read, and the caller reads it as the answer.
            return stream;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
