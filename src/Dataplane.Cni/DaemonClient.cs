using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Dataplane.Protocol;

namespace Dataplane.Cni;

/// <summary>
/// One request, one answer on the daemon's control socket: a line of JSON each way (<see cref="ControlRequest"/>,
/// <see cref="ControlResponse"/>), as `dataplane ctl` speaks it. Synchronous on purpose: the plugin does one thing at a
/// time and lives for milliseconds. Deadlines bound both the connect and the wait for the answer, so a wedged daemon
/// turns into an error the runtime can act on instead of a hung pod start.
/// </summary>
internal sealed class DaemonClient(string socketPath, DaemonTimeouts timeouts)
{
    /// <summary>Answers longer than this are not the daemon's (a pod result is a few hundred bytes).</summary>
    private const int MaxAnswerBytes = 1 << 20;

    public string SocketPath { get; } = socketPath;

    /// <summary>
    /// Sends <paramref name="request"/> and returns the daemon's answer (ok or not). Throws
    /// <see cref="DaemonUnreachableException"/> when nothing listens (no socket file, connection refused: the daemon is
    /// not running), <see cref="DaemonFailedException"/> when it connected but no usable answer came.
    /// </summary>
    public ControlResponse Send(ControlRequest request, TimeSpan answerTimeout)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Connect(socket);

        try
        {
            socket.SendTimeout = (int)answerTimeout.TotalMilliseconds;
            socket.ReceiveTimeout = (int)answerTimeout.TotalMilliseconds;
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(request, ProtocolJson.Default.ControlRequest);
            byte[] line = new byte[json.Length + 1];
            json.CopyTo(line, 0);
            line[^1] = (byte)'\n';
            socket.Send(line);
            string answer = ReadLine(socket);
            return JsonSerializer.Deserialize(answer, ProtocolJson.Default.ControlResponse)
                ?? throw new DaemonFailedException($"the dataplane on {SocketPath} answered {request.Command} with null");
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            throw new DaemonFailedException($"the dataplane on {SocketPath} did not answer {request.Command} within {answerTimeout.TotalSeconds:0.#} s");
        }
        catch (SocketException e)
        {
            throw new DaemonFailedException($"talking to the dataplane on {SocketPath} failed during {request.Command}: {e.Message}");
        }
        catch (JsonException e)
        {
            throw new DaemonFailedException($"the dataplane on {SocketPath} answered {request.Command} with something that is not a control response: {e.Message}");
        }
    }

    /// <summary>The answer's result as <typeparamref name="T"/>; a missing or different result is the daemon's bug, reported as such.</summary>
    public T ResultAs<T>(ControlResponse response, JsonTypeInfo<T> type, string command)
    {
        try
        {
            if (response.Result is JsonElement { ValueKind: JsonValueKind.Object } result && result.Deserialize(type) is { } value)
            {
                return value;
            }
        }
        catch (JsonException e)
        {
            throw new DaemonFailedException($"the dataplane on {SocketPath} answered {command} with an unreadable result: {e.Message}");
        }

        throw new DaemonFailedException($"the dataplane on {SocketPath} answered {command} without a result");
    }

    private void Connect(Socket socket)
    {
        // A Unix socket connect only waits when the daemon's accept backlog is full; SO_SNDTIMEO bounds that wait
        // (unix_stream_connect sleeps for the send timeout), so a plain blocking connect needs no async machinery.
        socket.SendTimeout = (int)timeouts.Connect.TotalMilliseconds;
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.TryAgain)
        {
            throw new DaemonFailedException($"connecting to the dataplane on {SocketPath} took longer than {timeouts.Connect.TotalSeconds:0.#} s");
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            // ECONNREFUSED: a socket file nobody listens on (the daemon died); ENOENT, which .NET reports as
            // AddressNotAvailable ("Cannot assign requested address"): no socket file at all.
            string why = e.SocketErrorCode == SocketError.ConnectionRefused ? "connection refused" : "no such socket";
            throw new DaemonUnreachableException($"no dataplane is listening on {SocketPath} ({why})");
        }
        catch (SocketException e)
        {
            throw new DaemonFailedException($"connecting to the dataplane on {SocketPath} failed: {e.Message}");
        }
    }

    private string ReadLine(Socket socket)
    {
        using var answer = new MemoryStream();
        Span<byte> buffer = stackalloc byte[4096];
        while (true)
        {
            int read = socket.Receive(buffer);
            if (read == 0)
            {
                throw new DaemonFailedException($"the dataplane on {SocketPath} closed the connection without answering");
            }

            int newline = buffer[..read].IndexOf((byte)'\n');
            answer.Write(buffer[..(newline < 0 ? read : newline)]);
            if (newline >= 0)
            {
                return Encoding.UTF8.GetString(answer.GetBuffer(), 0, (int)answer.Length);
            }

            if (answer.Length > MaxAnswerBytes)
            {
                throw new DaemonFailedException($"the dataplane on {SocketPath} sent more than {MaxAnswerBytes} bytes without a newline");
            }
        }
    }
}

/// <summary>How long to wait for the daemon: to connect, for a pod-add/pod-del/pod-check/pod-gc answer, for a status answer.</summary>
internal sealed record DaemonTimeouts(TimeSpan Connect, TimeSpan Pod, TimeSpan Status)
{
    /// <summary>30 s for pod work (it creates a TAP and moves it into a namespace; more means something is stuck).</summary>
    public static readonly DaemonTimeouts Default = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5));
}

/// <summary>Nothing listens on the socket: the daemon is not running. Its TAPs went with it.</summary>
internal sealed class DaemonUnreachableException(string message) : IOException(message);

/// <summary>The daemon was reached but gave no usable answer (timeout, closed connection, garbage).</summary>
internal sealed class DaemonFailedException(string message) : IOException(message);
