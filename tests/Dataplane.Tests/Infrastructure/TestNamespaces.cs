using System.Security.Cryptography;
using System.Text.Json;

namespace Dataplane.Tests.Infrastructure;

/// <summary>
/// Per-test network namespaces and names. Every name starts with "dpt-" plus a random suffix, so parallel
/// tests and concurrent runs never collide, and cleanup can refuse to touch anything else. Dispose deletes
/// every namespace this instance handed out (created by `ip netns add` here, or by the code under test)
/// and every tracked host link, even when the test failed.
/// </summary>
public sealed class TestNamespaces : IDisposable
{
    public const string Prefix = "dpt-";

    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    private readonly List<string> _namespaces = [];
    private readonly List<string> _hostLinks = [];

    /// <summary>"dpt-" + 6 random hex digits (10 bytes, so role letters can follow within 15).</summary>
    public static string UniqueName() => Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    /// <summary>A fresh name, remembered so Dispose deletes the namespace if anything created it.</summary>
    public string NewName()
    {
        string name = UniqueName();
        _namespaces.Add(name);
        return name;
    }

    /// <summary>Creates a namespace with `ip netns add` (independent of the code under test).</summary>
    public string Add()
    {
        string name = NewName();
        Ip("netns", "add", name).EnsureSuccess();
        return name;
    }

    /// <summary>Deletes a namespace with `ip netns del` (Dispose would do it anyway).</summary>
    public static void Delete(string name)
    {
        EnsureOurs(name);
        Ip("netns", "del", name).EnsureSuccess();
    }

    /// <summary>Remembers a link in the host namespace to delete at Dispose if it still exists.</summary>
    public void TrackHostLink(string name)
    {
        EnsureOurs(name);
        _hostLinks.Add(name);
    }

    /// <summary>Runs `ip netns exec NAMESPACE command...` with a deadline.</summary>
    public static ProcessResult Exec(string ns, params string[] command) =>
        ProcessRunner.Run(CommandTimeout, "ip", ["netns", "exec", ns, .. command]);

    public static Task<ProcessResult> ExecAsync(string ns, TimeSpan timeout, params string[] command) =>
        ProcessRunner.RunAsync(timeout, "ip", ["netns", "exec", ns, .. command]);

    /// <summary>Runs `ip ARGS...` with a deadline (read-only queries and test-namespace plumbing).</summary>
    public static ProcessResult Ip(params string[] args) => ProcessRunner.Run(CommandTimeout, "ip", args);

    /// <summary>Runs `ip -j ARGS...` and parses the JSON array it prints.</summary>
    public static JsonElement IpJson(params string[] args)
    {
        ProcessResult result = Ip(["-j", .. args]).EnsureSuccess();
        string text = result.StdOut.Trim();
        using JsonDocument document = JsonDocument.Parse(text.Length == 0 ? "[]" : text);
        return document.RootElement.Clone();
    }

    /// <summary>The names `ip netns list` shows.</summary>
    public static IReadOnlyList<string> ListNamespaces()
    {
        // `ip netns list` prints "name" or "name (id: N)".
        return Ip("netns", "list").EnsureSuccess().StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ')[0])
            .ToList();
    }

    /// <summary>Link names in a namespace (via `ip -n NS -j link`).</summary>
    public static IReadOnlyList<string> LinkNames(string ns) =>
        IpJson("-n", ns, "link", "show").EnumerateArray().Select(l => l.GetProperty("ifname").GetString()!).ToList();

    public static bool HostLinkExists(string name) => Ip("link", "show", "dev", name).ExitCode == 0;

    public void Dispose()
    {
        var errors = new List<string>();
        foreach (string link in _hostLinks)
        {
            if (HostLinkExists(link))
            {
                ProcessResult r = Ip("link", "del", "dev", link);
                if (r.ExitCode != 0)
                {
                    errors.Add($"link {link}: {r.StdErr.Trim()}");
                }
            }
        }

        foreach (string ns in _namespaces)
        {
            EnsureOurs(ns);
            if (File.Exists($"/var/run/netns/{ns}"))
            {
                ProcessResult r = Ip("netns", "del", ns);
                if (r.ExitCode != 0)
                {
                    errors.Add($"netns {ns}: {r.StdErr.Trim()}");
                }
            }
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException("test cleanup failed: " + string.Join("; ", errors));
        }
    }

    private static void EnsureOurs(string name)
    {
        if (!name.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"refusing to manage '{name}': test names start with {Prefix}");
        }
    }
}
