using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Cni;

/// <summary>
/// A standard plugin chained after ours works with our result: Debian's `tuning` (1.1.1) parses it as prevResult, finds
/// our interface by name, changes its MAC inside the pod's namespace (CNI_NETNS) and reports that in the result it
/// passes on. A TAP named eth0 made with `ip tuntap` stands in for the daemon's (the daemon is the fake here); root, for
/// the namespace.
/// </summary>
[Trait("Category", "e2e")]
public sealed class CniChainTests : IDisposable
{
    private const string Tuning = "/usr/lib/cni/tuning";

    private readonly TestNamespaces _namespaces = new();
    private readonly CniTestNode _node = new();

    public void Dispose()
    {
        _node.Dispose();
        _namespaces.Dispose();
    }

    [RootTheory]
    [InlineData("0.4.0")]
    [InlineData("1.0.0")]
    public async Task Tuning_after_us_changes_our_interfaces_mac_and_keeps_the_rest(string version)
    {
        Assert.True(File.Exists(Tuning), $"{Tuning} is missing: run scripts/setup.sh (it installs containernetworking-plugins)");
        string ns = _namespaces.Add();
        string netns = $"/var/run/netns/{ns}";
        TestNamespaces.Ip("-n", ns, "tuntap", "add", "dev", "eth0", "mode", "tap").EnsureSuccess();
        CniOutcome add = _node.Run("ADD", _node.Config(version), env => env["CNI_NETNS"] = netns);
        Assert.True(add.ExitCode == 0, add.Stdout);

        var tuningConfig = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = "dataplane",
            ["type"] = "tuning",
            ["mac"] = "02:00:00:00:00:42",
            ["prevResult"] = JsonNode.Parse(add.Stdout),
        };
        ProcessResult tuning = await RunPluginAsync(Tuning, "ADD", netns, tuningConfig.ToJsonString());

        Assert.True(tuning.ExitCode == 0, $"tuning failed on our result: {tuning.StdOut} {tuning.StdErr}");
        using JsonDocument chained = JsonDocument.Parse(tuning.StdOut);
        JsonElement eth0 = Assert.Single(chained.RootElement.GetProperty("interfaces").EnumerateArray());
        Assert.Equal("02:00:00:00:00:42", eth0.GetProperty("mac").GetString());
        Assert.Equal(netns, eth0.GetProperty("sandbox").GetString());
        Assert.Equal("10.244.1.5/24", chained.RootElement.GetProperty("ips")[0].GetProperty("address").GetString());
        Assert.Equal(0, chained.RootElement.GetProperty("ips")[0].GetProperty("interface").GetInt32());
        string link = TestNamespaces.Ip("-n", ns, "link", "show", "eth0").EnsureSuccess().StdOut;
        Assert.Contains("02:00:00:00:00:42", link, StringComparison.Ordinal);
    }

    /// <summary>Runs a CNI plugin binary the way a runtime does: CNI_* in the environment, the config on stdin.</summary>
    private async Task<ProcessResult> RunPluginAsync(string plugin, string command, string netns, string config)
    {
        var start = new System.Diagnostics.ProcessStartInfo(plugin)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach ((string name, string value) in _node.Environment(command))
        {
            start.Environment[name] = value;
        }

        start.Environment["CNI_NETNS"] = netns;
        start.Environment["CNI_PATH"] = "/usr/lib/cni";
        using System.Diagnostics.Process process = System.Diagnostics.Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(config);
        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(TestNamespaces.CommandTimeout);
        await process.WaitForExitAsync(deadline.Token);
        return new ProcessResult(plugin, process.ExitCode, await stdout, await stderr);
    }
}
