using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Dataplane.Tests.Cni;

/// <summary>
/// A stand-in for the daemon's control socket: a Unix listener in a temp directory that records every request line and
/// answers with a canned response per command (by default the happy answer of the agreed protocol). A command can be
/// made silent (read, never answered) to exercise the plugin's deadline.
/// </summary>
internal sealed class FakeDaemon : IDisposable
{
    private readonly Socket _listener;
    private readonly Thread _acceptor;
    private readonly List<JsonElement> _requests = [];
    private readonly List<Socket> _held = [];
    private readonly Dictionary<string, Func<JsonElement, string>> _answers = new(StringComparer.Ordinal)
    {
        ["pod-add"] = static request => JsonSerializer.Serialize(new
        {
            ok = true,
            result = new
            {
                name = Pod(request, "name") ?? "pod-1", port = 3, source = "cni", containerId = Pod(request, "containerId"),
                ifName = Pod(request, "ifName"), netns = Pod(request, "netns"), mac = Mac, mtu = PodMtu(request),
                ips = Array.Empty<object>(), tap = "dp3", worker = 0,
            },
        }),
        ["pod-del"] = static request => JsonSerializer.Serialize(new { ok = true, result = new { name = Pod(request, "name") ?? "pod-1", removed = true, flowsFlushed = 0 } }),
        ["pod-check"] = static _ => """{"ok":true,"result":{"name":"pod-1","problems":[]}}""",
        ["pod-gc"] = static _ => """{"ok":true,"result":{"removed":[]}}""",
        ["status"] = static _ => """{"ok":true,"result":{"node":"node-a"}}""",
    };
    private readonly HashSet<string> _silent = new(StringComparer.Ordinal);

    /// <summary>The MAC the default pod-add answer reports.</summary>
    public const string Mac = "0a:58:0a:f4:01:05";

    public FakeDaemon(string directory)
    {
        SocketPath = Path.Combine(directory, "daemon.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(16);
        _acceptor = new Thread(Serve) { IsBackground = true, Name = "fake-daemon" };
        _acceptor.Start();
    }

    public string SocketPath { get; }

    /// <summary>Every request received so far, in order.</summary>
    public IReadOnlyList<JsonElement> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>The commands received so far, in order.</summary>
    public IReadOnlyList<string> Commands => [.. Requests.Select(static r => r.GetProperty("command").GetString()!)];

    /// <summary>The one request with <paramref name="command"/>; fails if there is none or several.</summary>
    public JsonElement Single(string command) => Assert.Single(Requests, r => r.GetProperty("command").GetString() == command);

    public void Answer(string command, string response) => _answers[command] = _ => response;

    public void Refuse(string command, string error) => Answer(command, JsonSerializer.Serialize(new { ok = false, error }));

    /// <summary>Reads <paramref name="command"/> requests but never answers them (the connection stays open).</summary>
    public void Silence(string command) => _silent.Add(command);

    public void Dispose()
    {
        _listener.Dispose(); // Accept throws; the thread ends
        _acceptor.Join(TimeSpan.FromSeconds(10));
        lock (_held)
        {
            _held.ForEach(static s => s.Dispose());
        }
    }

    private static string? Pod(JsonElement request, string key) =>
        request.TryGetProperty("pod", out JsonElement pod) && pod.TryGetProperty(key, out JsonElement value) ? value.GetString() : null;

    private static int PodMtu(JsonElement request) =>
        request.GetProperty("pod").TryGetProperty("mtu", out JsonElement mtu) ? mtu.GetInt32() : 1500;

    private void Serve()
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            using var reader = new StreamReader(new NetworkStream(connection, ownsSocket: false), Encoding.UTF8);
            string line = reader.ReadLine() ?? "";
            JsonElement request = JsonDocument.Parse(line).RootElement.Clone();
            string command = request.GetProperty("command").GetString()!;
            lock (_requests)
            {
                _requests.Add(request);
            }

            if (_silent.Contains(command))
            {
                lock (_held)
                {
                    _held.Add(connection);
                }

                continue;
            }

            string answer = _answers[command](request).ReplaceLineEndings("");
            connection.Send(Encoding.UTF8.GetBytes(answer + "\n"));
            connection.Dispose();
        }
    }
}
