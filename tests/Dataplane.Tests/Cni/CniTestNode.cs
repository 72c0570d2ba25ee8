using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Cni;

namespace Dataplane.Tests.Cni;

/// <summary>
/// One test's world: a temp directory with a fake daemon socket, a fake IPAM plugin on CNI_PATH and a file standing in
/// for the pod's netns; runs the plugin in-process with a config and CNI_* environment built from them.
/// </summary>
internal sealed class CniTestNode : IDisposable
{
    public const string ContainerId = "c0ffee01";

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("dpt-cni-");

    public CniTestNode()
    {
        Daemon = new FakeDaemon(_directory.FullName);
        Ipam = new FakeIpam(Directory.CreateDirectory(Path.Combine(_directory.FullName, "bin")).FullName);
        Netns = Path.Combine(_directory.FullName, "netns-pod");
        File.WriteAllText(Netns, "");
    }

    public FakeDaemon Daemon { get; }

    public FakeIpam Ipam { get; }

    /// <summary>An existing file: the plugin checks CNI_NETNS exists; only the fake daemon would enter it.</summary>
    public string Netns { get; }

    public string TempDirectory => _directory.FullName;

    /// <summary>How long the plugin waits for the daemon here: short, so the silent-daemon tests take a moment.</summary>
    public DaemonTimeouts Timeouts { get; set; } = DaemonTimeouts.Default;

    /// <summary>The example config of the brief, with the fake socket and IPAM; <paramref name="change"/> edits it.</summary>
    public JsonObject Config(string version = "1.0.0", Action<JsonObject>? change = null)
    {
        var config = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = "dataplane",
            ["type"] = "dataplane-cni",
            ["socket"] = Daemon.SocketPath,
            ["mtu"] = 1500,
            ["ipam"] = new JsonObject
            {
                ["type"] = FakeIpam.Type,
                ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = "10.244.1.0/24", ["gateway"] = "10.244.1.1" })),
            },
            ["dns"] = new JsonObject { ["nameservers"] = new JsonArray("10.96.0.10") },
        };
        change?.Invoke(config);
        return config;
    }

    /// <summary>The CNI_* variables a runtime sets for <paramref name="command"/> (plus PATH for the fake IPAM's shell).</summary>
    public Dictionary<string, string> Environment(string command) => new(StringComparer.Ordinal)
    {
        ["CNI_COMMAND"] = command,
        ["CNI_CONTAINERID"] = ContainerId,
        ["CNI_NETNS"] = Netns,
        ["CNI_IFNAME"] = "eth0",
        ["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1",
        ["CNI_PATH"] = $"/nonexistent:{Ipam.Directory}",
        ["PATH"] = "/usr/bin:/bin",
    };

    public CniOutcome Run(string command, JsonObject config, Action<Dictionary<string, string>>? changeEnvironment = null) =>
        Run(command, config.ToJsonString(), changeEnvironment);

    public CniOutcome Run(string command, string stdin, Action<Dictionary<string, string>>? changeEnvironment = null)
    {
        Dictionary<string, string> environment = Environment(command);
        changeEnvironment?.Invoke(environment);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = new CniPlugin(Timeouts).Run(environment, new StringReader(stdin), stdout, stderr);
        return new CniOutcome(exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>ADD with <paramref name="config"/>, asserting success; returns the result.</summary>
    public JsonElement Add(JsonObject config)
    {
        CniOutcome add = Run("ADD", config);
        Assert.True(add.ExitCode == 0, $"ADD failed: {add.Stdout} {add.Stderr}");
        return add.Json;
    }

    public void Dispose()
    {
        Daemon.Dispose();
        _directory.Delete(recursive: true);
    }
}

/// <summary>What the plugin did: exit code, stdout (result or error object), stderr.</summary>
internal sealed record CniOutcome(int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement.Clone();

    /// <summary>The error object's code, asserting the run failed the way the spec says (non-zero exit, error on stdout).</summary>
    public int ErrorCode
    {
        get
        {
            Assert.True(ExitCode != 0, $"expected a failure, got exit 0 with {Stdout}");
            return Json.GetProperty("code").GetInt32();
        }
    }

    public string Message => Json.GetProperty("msg").GetString()!;

    /// <summary>Asserts success with no output (DEL, CHECK, GC, STATUS).</summary>
    public void AssertQuietSuccess()
    {
        Assert.True(ExitCode == 0, $"expected success, got exit {ExitCode}: {Stdout} {Stderr}");
        Assert.Equal("", Stdout);
    }
}
