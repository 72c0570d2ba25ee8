using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dataplane.Model;
using Dataplane.Replay;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon;

/// <summary>
/// The daemon's control socket: a Unix stream socket in a 0700 directory (there is no TCP listener), speaking one
/// JSON request line and one JSON response line per connection. Its file is 0600 (root only), or 0660 with
/// dataplane.controlGroup's group; every connection's peer is checked as well (<see cref="ControlAdmission"/>), and
/// connections are few and short-lived: limited in number, closed when no request comes within the idle timeout,
/// answered within the request timeout. Nothing a client does here can take file descriptors, memory or time away
/// from forwarding (issue 12).
/// </summary>
public sealed class ControlServer : IDisposable
{
    private const int MaxRequestBytes = 1 << 20;

    /// <summary>After an accept() failure the loop waits this long, doubling up to <see cref="s_maxAcceptBackoff"/>.</summary>
    private static readonly TimeSpan s_firstAcceptBackoff = TimeSpan.FromMilliseconds(10);

    /// <summary>Long enough that a process out of file descriptors is not spun on, short enough that ctl gets in soon after.</summary>
    private static readonly TimeSpan s_maxAcceptBackoff = TimeSpan.FromSeconds(1);

    /// <summary>One line per answer, so no indentation; made once (options are costly to build).</summary>
    private static readonly JsonSerializerOptions s_wire = ReplayRun.JsonOptions.WithoutIndent();

    /// <summary>
    /// File descriptors kept free for the rest of the daemon: a connection whose descriptor is numbered this close to
    /// the limit is refused at once. The runtime itself aborts ("Out of memory.") when it needs a descriptor and none
    /// is left, so the control socket must never take the last ones (reproduced with prlimit, issue 12).
    /// </summary>
    private const int ReservedDescriptors = 32;

    /// <summary>Refused peers waited for at once (<see cref="LingerAsync"/>).</summary>
    private const int MaxLingering = 16;

    private static readonly TimeSpan s_linger = TimeSpan.FromSeconds(1);
    private int _lingering;

    private readonly NodeDaemon _daemon;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly uint? _groupId;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeSpan _requestTimeout;
    private Socket? _listener;
    private Task? _acceptLoop;

    public ControlServer(string path, DataplaneSettings settings, NodeDaemon daemon, ILogger logger)
    {
        Path = path;
        _daemon = daemon;
        _logger = logger;
        _groupId = settings.ControlGroup is { } group ? ControlGroup.Resolve(group) : null;
        _idleTimeout = TimeSpan.FromSeconds(settings.ControlIdleTimeoutSeconds);
        _requestTimeout = TimeSpan.FromSeconds(settings.ControlRequestTimeoutSeconds);
        Admission = new ControlAdmission(settings.ControlMaxConnections, _groupId);
    }

    public string Path { get; }

    /// <summary>Who may connect, how many are open, and what was refused (for /metrics).</summary>
    internal ControlAdmission Admission { get; }

    public void Start()
    {
        string directory = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // We hold the node's instance lock, so a socket file here is a dead daemon's.
        File.Delete(Path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(Path));
            if (_groupId is { } gid)
            {
                ControlGroup.GrantDirectory(directory, gid);
                ControlGroup.GrantSocket(Path, gid);
            }
            else
            {
                File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            // A runtime starting many pods at once connects once per pod (CNI ADD): room for a burst of them.
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        _acceptLoop = AcceptLoopAsync(listener);
    }

    /// <summary>
    /// Accepts until the daemon stops. A failing accept() (EMFILE or ENFILE when the process or the system is out
    /// of file descriptors) is survived: the loop backs off and tries again, and logs once per burst of failures
    /// rather than once per failure.
    /// </summary>
    private async Task AcceptLoopAsync(Socket listener)
    {
        TimeSpan backoff = s_firstAcceptBackoff;
        long failuresInBurst = 0;
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException && _stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                Admission.CountAcceptError();
                if (failuresInBurst++ == 0)
                {
                    _logger.LogWarning("control socket: accept failed ({Error}); backing off and retrying, forwarding is not affected", ex.Message);
                }

                try
                {
                    await Task.Delay(backoff, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, s_maxAcceptBackoff.Ticks));
                continue;
            }

            if (failuresInBurst > 0)
            {
                _logger.LogWarning("control socket: accepting again after {Failures} failed accept(s)", failuresInBurst);
                failuresInBurst = 0;
                backoff = s_firstAcceptBackoff;
            }

            _ = ServeAsync(client);
        }
    }

    /// <summary>Checks the peer and the limits, then serves the connection's one request (or stream).</summary>
    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            ControlPeer peer;
            try
            {
                peer = ControlPeer.Of(client);
            }
            catch (SocketException ex)
            {
                _logger.LogDebug(ex, "control client gone before its credentials were read");
                return;
            }

            // A new descriptor takes the lowest free number, so one numbered near the limit means few are left.
            long descriptor = client.Handle.ToInt64();
            if (OpenFileLimit.Current() is { } limit && (ulong)descriptor + ReservedDescriptors >= limit)
            {
                Admission.CountLowDescriptors();
                Refuse(client, $"busy: the daemon is low on file descriptors (this connection's is number {descriptor}, the limit is {limit}); try again");
                return;
            }

            if (Admission.TryAdmit(peer) is { } refusal)
            {
                Refuse(client, refusal);
                if (!Admission.Allows(peer))
                {
                    await LingerAsync(client).ConfigureAwait(false);
                }

                _logger.LogDebug("control connection from {Peer} refused: {Reason}", peer, refusal);
                return;
            }

            try
            {
                await ServeAdmittedAsync(client).ConfigureAwait(false);
            }
            finally
            {
                Admission.Release(peer);
            }
        }
    }

    /// <summary>
    /// Tells a refused peer why in one response line, without waiting: the line is short and the socket's buffer
    /// empty, so a non-blocking send either goes out whole or the peer does not hear it (it sees the close).
    /// </summary>
    private static void Refuse(Socket client, string reason)
    {
        try
        {
            client.Blocking = false;
            byte[] line = JsonSerializer.SerializeToUtf8Bytes(new ControlResponse(false, reason, null), s_wire);
            client.Send([.. line, (byte)'\n'], SocketFlags.None, out _);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// After refusing a peer it is not allowed (uid, group), waits a moment for it to finish sending its request before
    /// the close: a client that writes before it reads (nc, a script) would otherwise write into a closed socket, die of
    /// SIGPIPE and never see why it was turned away. Bounded: at most <see cref="MaxLingering"/> at once, each for
    /// <see cref="s_linger"/>; the busy refusals of a storm never linger, so they hold no descriptor.
    /// </summary>
    private async Task LingerAsync(Socket client)
    {
        if (Interlocked.Increment(ref _lingering) > MaxLingering)
        {
            Interlocked.Decrement(ref _lingering);
            return;
        }

        try
        {
            client.Shutdown(SocketShutdown.Send);
            using var deadline = new CancellationTokenSource(s_linger);
            byte[] sink = new byte[512];
            while (await client.ReceiveAsync(sink, SocketFlags.None, deadline.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _lingering);
        }
    }

    private async Task ServeAdmittedAsync(Socket client)
    {
        await using (var stream = new NetworkStream(client, ownsSocket: false))
        {
            ControlResponse response;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            try
            {
                // Idle until a whole request has arrived; streams that start afterwards are not idle.
                deadline.CancelAfter(_idleTimeout);
                string? line;
                try
                {
                    line = await ReadLineAsync(PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)), deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                {
                    Admission.CountIdleClose();
                    _logger.LogDebug("control connection closed: no request within {Seconds} s", _idleTimeout.TotalSeconds);
                    Refuse(client, $"no complete request within {_idleTimeout.TotalSeconds} s (dataplane.controlIdleTimeoutSeconds): closing");
                    return;
                }

                ControlRequest? request = line is null ? null : JsonSerializer.Deserialize<ControlRequest>(line, ReplayRun.JsonOptions);
                // The answer is due within the request timeout; a trace first waits as long as it was asked to (in
                // range: at most an hour). Streams (follow, capture) run on the daemon's token, not this deadline.
                deadline.CancelAfter(_requestTimeout + TimeSpan.FromSeconds(request is { Command: "trace" } && ControlArgumentRanges.Problem(request) is null ? request.Seconds ?? 0 : 0));
                if (request is not null && ControlArgumentRanges.Problem(request) is { } problem)
                {
                    response = new ControlResponse(false, problem, null);
                }
                else if (request is { Command: "flows", Follow: true })
                {
                    await FollowFlowsAsync(client, stream).ConfigureAwait(false);
                    return;
                }
                else if (request?.Command == "capture")
                {
                    // Not one answer line: the capture file streams in chunks, then the answer (see CaptureStream).
                    // A live stream, bounded by its own seconds (at most a day), not by the request timeout.
                    await ControlCommands.CaptureAsync(_daemon, request, stream, s_wire, _stop.Token).ConfigureAwait(false);
                    return;
                }
                else
                {
                    response = request is null
                        ? new ControlResponse(false, "empty request", null)
                        : new ControlResponse(true, null, await ControlCommands.RunAsync(_daemon, request, deadline.Token).ConfigureAwait(false));
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or JsonException or IOException or KeyNotFoundException or FormatException)
            {
                response = new ControlResponse(false, ex.Message, null);
            }
            catch (OperationCanceledException)
            {
                if (!_stop.IsCancellationRequested)
                {
                    _logger.LogWarning("control request not answered within the request timeout ({Seconds} s, dataplane.controlRequestTimeoutSeconds): connection closed", _requestTimeout.TotalSeconds);
                }

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
                // Straight into the socket: an answer is never held whole as one more buffer.
                await JsonSerializer.SerializeAsync(stream, response, s_wire, deadline.Token).ConfigureAwait(false);
                await stream.WriteAsync("\n"u8.ToArray(), deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                _logger.LogDebug(ex, "control client went away or stopped reading");
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
        JsonSerializerOptions options = s_wire;
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

        if (_listener is not null)
        {
            File.Delete(Path); // ours: an unstarted server never touches what is at its path
        }

        _stop.Dispose();
    }
}

internal static class JsonOptionsExtensions
{
    public static JsonSerializerOptions WithoutIndent(this JsonSerializerOptions options) => new(options) { WriteIndented = false };
}
