using System.Text.Json.Nodes;

namespace Dataplane.Tests.Cni;

/// <summary>VERSION and which config versions the plugin accepts.</summary>
[Trait("Category", "unit")]
public sealed class CniVersionTests : IDisposable
{
    private readonly CniTestNode _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public void Version_lists_0_4_0_1_0_0_and_1_1_0()
    {
        CniOutcome version = _node.Run("VERSION", """{"cniVersion":"1.1.0"}""");

        Assert.Equal(0, version.ExitCode);
        Assert.Equal("1.1.0", version.Json.GetProperty("cniVersion").GetString());
        Assert.Equal(["0.4.0", "1.0.0", "1.1.0"], version.Json.GetProperty("supportedVersions").EnumerateArray().Select(static v => v.GetString()));
        Assert.Empty(_node.Ipam.Calls);
        Assert.Empty(_node.Daemon.Requests);
    }

    [Fact]
    public void Version_echoes_the_version_asked_and_needs_no_stdin()
    {
        Assert.Equal("1.0.0", _node.Run("VERSION", """{"cniVersion":"1.0.0"}""").Json.GetProperty("cniVersion").GetString());
        CniOutcome bare = _node.Run("VERSION", "");
        Assert.Equal(0, bare.ExitCode);
        Assert.Equal("1.1.0", bare.Json.GetProperty("cniVersion").GetString());
    }

    [Fact]
    public void Version_checks_no_attachment_variables()
    {
        CniOutcome version = _node.Run("VERSION", "", static env => env["CNI_CONTAINERID"] = "not valid!");

        Assert.Equal(0, version.ExitCode);
    }

    [Theory]
    [InlineData("0.3.1")]
    [InlineData("2.0.0")]
    [InlineData("1.0")]
    public void A_config_version_we_do_not_speak_is_error_1_listing_ours(string version)
    {
        CniOutcome add = _node.Run("ADD", _node.Config(version));

        Assert.Equal(1, add.ErrorCode);
        Assert.Contains($"\"{version}\"", add.Message, StringComparison.Ordinal);
        Assert.Contains("0.4.0, 1.0.0, 1.1.0", add.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Ipam.Calls);
        Assert.Empty(_node.Daemon.Requests);
    }

    [Fact]
    public void A_config_without_cniVersion_is_error_1()
    {
        CniOutcome add = _node.Run("ADD", _node.Config(change: static c => c.Remove("cniVersion")));

        Assert.Equal(1, add.ErrorCode);
        Assert.Contains("0.4.0, 1.0.0, 1.1.0", add.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GC")]
    [InlineData("STATUS")]
    public void Gc_and_status_need_a_1_1_0_config(string command)
    {
        CniOutcome run = _node.Run(command, _node.Config("1.0.0", static c => c["cni.dev/valid-attachments"] = new JsonArray()));

        Assert.Equal(1, run.ErrorCode);
        Assert.Contains("1.1.0", run.Message, StringComparison.Ordinal);
        Assert.Empty(_node.Daemon.Requests);
    }

    [Fact]
    public void Errors_carry_the_configs_version()
    {
        CniOutcome add = _node.Run("ADD", _node.Config("0.4.0", static c => c.Remove("socket")));

        Assert.Equal(7, add.ErrorCode);
        Assert.Equal("0.4.0", add.Json.GetProperty("cniVersion").GetString());
        Assert.False(add.Json.TryGetProperty("details", out _), "an error without details leaves the key out");
    }
}
