using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.Tests.Cni;

/// <summary>
/// The real IPAM plugin (Debian's host-local, which speaks CNI up to 1.0.0) against the fake daemon, with its
/// reservations in a temp dataDir: an address is taken on ADD, released on DEL, and a 1.1.0 config gets through.
/// </summary>
[Trait("Category", "unit")]
public sealed class HostLocalIpamTests : IDisposable
{
    private const string CniBin = "/usr/lib/cni";

    private readonly CniTestNode _node = new();
    private readonly string _dataDir;

    public HostLocalIpamTests()
    {
        Assert.True(File.Exists(Path.Combine(CniBin, "host-local")),
            $"{CniBin}/host-local is missing: run scripts/setup.sh (it installs containernetworking-plugins)");
        _dataDir = Path.Combine(_node.TempDirectory, "ipam");
    }

    public void Dispose() => _node.Dispose();

    /// <summary>host-local keeps one file per reserved address under dataDir/NETWORK-NAME.</summary>
    private string Reservation(string ip) => Path.Combine(_dataDir, "dataplane", ip);

    [Theory]
    [InlineData("0.4.0")]
    [InlineData("1.0.0")]
    [InlineData("1.1.0")]
    public void Add_reserves_an_address_that_del_releases(string version)
    {
        JsonObject config = Config(version);

        CniOutcome add = Run("ADD", config);

        Assert.True(add.ExitCode == 0, $"{add.Stdout} {add.Stderr}");
        JsonElement ip = Assert.Single(add.Json.GetProperty("ips").EnumerateArray());
        Assert.Equal("10.244.1.2/24", ip.GetProperty("address").GetString()); // the first after the gateway
        Assert.Equal("10.244.1.1", ip.GetProperty("gateway").GetString());
        Assert.True(File.Exists(Reservation("10.244.1.2")), "host-local recorded the reservation");
        Assert.Equal("10.244.1.2/24", _node.Daemon.Single("pod-add").GetProperty("pod").GetProperty("ips")[0].GetProperty("address").GetString());
        if (version == "1.1.0")
        {
            Assert.Contains("does not support CNI 1.1.0; calling it with cniVersion 1.0.0", add.Stderr, StringComparison.Ordinal);
        }

        CniOutcome del = Run("DEL", config);

        del.AssertQuietSuccess();
        Assert.False(File.Exists(Reservation("10.244.1.2")), "DEL released the address");
    }

    [Fact]
    public void Check_after_add_passes_and_after_del_fails()
    {
        JsonObject config = Config("1.1.0");
        CniOutcome add = Run("ADD", config);
        Assert.Equal(0, add.ExitCode);
        config["prevResult"] = JsonNode.Parse(add.Stdout);

        Run("CHECK", config).AssertQuietSuccess();
        Run("DEL", config).AssertQuietSuccess();
        CniOutcome check = Run("CHECK", config);

        Assert.Equal(101, check.ErrorCode); // host-local no longer holds the address
        Assert.Contains("host-local", check.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refused_pod_add_leaves_no_reservation()
    {
        _node.Daemon.Refuse("pod-add", "address 10.244.1.2 is in use");

        CniOutcome add = Run("ADD", Config("1.0.0"));

        Assert.Equal(100, add.ErrorCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dataDir, "dataplane"), "10.*"));
    }

    [Fact]
    public void A_repeated_add_fails_without_releasing_the_live_attachments_address()
    {
        JsonObject config = Config("1.0.0");
        Assert.Equal(0, Run("ADD", config).ExitCode);

        CniOutcome again = Run("ADD", config);

        Assert.Equal(101, again.ErrorCode);
        Assert.Contains("duplicate allocation is not allowed", again.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Reservation("10.244.1.2")), "the first ADD's address is still reserved");
    }

    [Fact]
    public void Gc_skips_host_local_which_has_no_gc()
    {
        CniOutcome gc = Run("GC", Config("1.1.0", static c => c["cni.dev/valid-attachments"] = new JsonArray()));

        gc.AssertQuietSuccess();
        Assert.Contains("host-local does not support CNI 1.1.0", gc.Stderr, StringComparison.Ordinal);
    }

    private JsonObject Config(string version, Action<JsonObject>? change = null) => _node.Config(version, c =>
    {
        c["ipam"] = new JsonObject
        {
            ["type"] = "host-local",
            ["dataDir"] = _dataDir,
            ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = "10.244.1.0/24", ["gateway"] = "10.244.1.1" })),
        };
        change?.Invoke(c);
    });

    private CniOutcome Run(string command, JsonObject config) => _node.Run(command, config, static env => env["CNI_PATH"] = CniBin);
}
