using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Cli.Commands;
using Dataplane.Cli.Install;
using Dataplane.Cni;
using Dataplane.Config;
using Dataplane.Tests.Infrastructure;
using Dataplane.Tests.Kubernetes;

namespace Dataplane.Tests.Cni;

/// <summary>
/// `dataplane install-cni`: the conflist it builds from a node's pod CIDRs (checked by our own plugin's parser), the
/// atomic install into a bin and a conf dir (modes, no temporary file left, a reader of the old binary unharmed), and
/// the command's one-line failures. Each test works in its own temporary directory.
/// </summary>
[Trait("Category", "unit")]
public sealed class InstallCniTests : IDisposable
{
    private const string Socket = "/run/dataplane/{node}.sock";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private readonly string _root = Directory.CreateTempSubdirectory("dp-install-cni-").FullName;
    private readonly string _binDir;
    private readonly string _confDir;
    private readonly string _plugin;
    private bool _immutable;

    public InstallCniTests()
    {
        _binDir = Directory.CreateDirectory(Path.Combine(_root, "bin")).FullName;
        _confDir = Directory.CreateDirectory(Path.Combine(_root, "net.d")).FullName;
        _plugin = Path.Combine(_root, "dataplane-cni.build");
        File.WriteAllBytes(_plugin, "\u007fELF plugin v2"u8.ToArray());
    }

    public void Dispose()
    {
        if (_immutable)
        {
            ProcessRunner.Run(s_timeout, "chattr", "-i", _binDir).EnsureSuccess();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Ipv4_only_conflist_is_one_host_local_range_whose_gateway_is_the_cidrs_first_address()
    {
        CniConflist conflist = CniConflist.Create("node-a", ["10.244.1.0/24"], Socket, mtu: null, "1.0.0");

        JsonNode list = JsonNode.Parse(conflist.ToJson())!;

        Assert.Equal("1.0.0", (string?)list["cniVersion"]);
        Assert.Equal("dataplane", (string?)list["name"]);
        JsonObject plugin = Assert.Single(list["plugins"]!.AsArray())!.AsObject();
        Assert.Equal("dataplane-cni", (string?)plugin["type"]);
        Assert.Equal("/run/dataplane/node-a.sock", (string?)plugin["socket"]);
        Assert.False(plugin.ContainsKey("mtu"), "no --mtu: the daemon's node.mtu must apply");
        Assert.Equal("host-local", (string?)plugin["ipam"]!["type"]);
        Assert.Equal([("10.244.1.0/24", "10.244.1.1")], Ranges(plugin));
    }

    [Fact]
    public void Dual_stack_conflist_has_one_range_set_per_family_ipv4_first_whatever_the_order_given()
    {
        CniConflist conflist = CniConflist.Create("node-b", ["fd00:10:244:2::/64", "10.244.2.0/24"], Socket, mtu: 1450, "1.1.0");

        JsonObject plugin = JsonNode.Parse(conflist.ToJson())!["plugins"]![0]!.AsObject();

        Assert.Equal([("10.244.2.0/24", "10.244.2.1"), ("fd00:10:244:2::/64", "fd00:10:244:2::1")], Ranges(plugin));
        Assert.Equal(1450, (int?)plugin["mtu"]);
        Assert.Equal("/run/dataplane/node-b.sock", (string?)plugin["socket"]);
    }

    [Fact]
    public void The_ipv6_gateway_is_the_one_the_config_layer_defaults_node_gateway_ip_v6_to()
    {
        CniConflist conflist = CniConflist.Create("node-a", ["10.244.1.0/24", "fd00:10:244:1::/64"], Socket, mtu: null, "1.0.0");
        var node = NodeConfigLoader.Parse("""
            node: { name: node-a, podCidr: 10.244.1.0/24, podCidrV6: "fd00:10:244:1::/64", gatewayIp: 10.244.1.1, mac: "02:00:00:00:01:01" }
            """, "test").ThrowIfInvalid();

        Assert.Equal(node.Node.GatewayIpV6.ToString(), conflist.GatewayV6.ToString());
        Assert.Equal(node.Node.GatewayIp.ToString(), conflist.Gateway.ToString());
    }

    [Theory]
    [InlineData("1.0.0", false)]
    [InlineData("1.1.0", true)]
    [InlineData("0.4.0", true)]
    public void The_plugin_accepts_each_network_config_the_runtime_cuts_from_the_conflist(string version, bool dualStack)
    {
        string[] cidrs = dualStack ? ["10.244.1.0/24", "fd00:10:244:1::/64"] : ["10.244.1.0/24"];
        CniConflist conflist = CniConflist.Create("node-a", cidrs, Socket, mtu: 1400, version);

        // What libcni hands each plugin of a list: its object, with the list's name and cniVersion added.
        JsonNode list = JsonNode.Parse(conflist.ToJson())!;
        JsonObject plugin = list["plugins"]![0]!.DeepClone().AsObject();
        plugin["name"] = list["name"]!.DeepClone();
        plugin["cniVersion"] = list["cniVersion"]!.DeepClone();
        NetConf conf = NetConf.Parse(plugin.ToJsonString());
        conf.Validate();

        Assert.True(Dataplane.Cni.CniVersions.IsSupported(conf.CniVersion), conf.CniVersion);
        Assert.Equal("dataplane-cni", conf.Type);
        Assert.Equal("/run/dataplane/node-a.sock", conf.Socket);
        Assert.Equal(1400, conf.Mtu);
        Assert.Equal("host-local", conf.Ipam?.Type);
    }

    [Fact]
    public void Install_cni_offers_exactly_the_versions_the_plugin_speaks()
    {
        Assert.Equal(Dataplane.Cni.CniVersions.Supported, CniConflist.CniVersions);
        Assert.Contains(CniConflist.DefaultCniVersion, Dataplane.Cni.CniVersions.Supported);
    }

    [Theory]
    [InlineData("node-a", "10.244.1.0", null, "'10.244.1.0' is not a CIDR")]
    [InlineData("node-a", "10.244.1.5/24", null, "has host bits set (did you mean 10.244.1.0/24?)")]
    [InlineData("node-a", "10.244.1.0/33", null, "prefix length must be 0..32")]
    [InlineData("node-a", "ten.244.1.0/24", null, "'ten.244.1.0' is not an IP address")]
    [InlineData("node-a", "10.244.1.0/31", null, "'10.244.1.0/31' is too small")]
    [InlineData("node-a", "10.244.1.0/24,10.244.2.0/24", null, "two IPv4 pod CIDRs (10.244.1.0/24 and 10.244.2.0/24)")]
    [InlineData("node-a", "fd00:10:244:1::/64", null, "no IPv4 pod CIDR in fd00:10:244:1::/64")]
    [InlineData("node-a", "10.244.1.0/24", 100, "MTU 100 is out of range 576..65535")]
    [InlineData("node-a", "10.244.1.0/24,fd00::/64", 1200, "MTU 1200 is below 1280")]
    [InlineData("Node_A", "10.244.1.0/24", null, "node name 'Node_A' is invalid")]
    [InlineData("", "10.244.1.0/24", null, "no node name given")]
    public void Bad_input_is_refused_with_one_line_naming_the_problem(string node, string cidrs, int? mtu, string expected)
    {
        var ex = Assert.Throws<CniInstallException>(() => CniConflist.Create(node, cidrs.Split(','), Socket, mtu, "1.0.0"));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void A_control_socket_beyond_sun_path_and_an_unknown_cni_version_are_refused()
    {
        string longName = string.Join('.', Enumerable.Repeat(new string('n', 40), 3));

        var socket = Assert.Throws<CniInstallException>(() => CniConflist.Create(longName, ["10.244.1.0/24"], Socket, null, "1.0.0"));
        var version = Assert.Throws<CniInstallException>(() => CniConflist.Create("node-a", ["10.244.1.0/24"], Socket, null, "0.3.1"));

        Assert.Contains("longer than 107 bytes", socket.Message, StringComparison.Ordinal);
        Assert.Contains("CNI version '0.3.1'", version.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Install_writes_the_plugin_0755_and_the_conflist_0644_and_leaves_no_temporary_file()
    {
        // The build's mode must not carry over: the runtime needs the installed plugin executable whatever it was.
        File.SetUnixFileMode(_plugin, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        CniConflist conflist = Conflist();

        CniInstallResult result = CniInstaller.Install(conflist, _plugin, _binDir, _confDir);

        Assert.Equal([CniInstaller.PluginFileName], Listing(_binDir));
        Assert.Equal([CniConflist.FileName], Listing(_confDir));
        Assert.Equal(Path.Combine(_binDir, "dataplane-cni"), result.Binary);
        Assert.Equal(Path.Combine(_confDir, "10-dataplane.conflist"), result.Config);
        Assert.Equal(File.ReadAllBytes(_plugin), File.ReadAllBytes(result.Binary));
        Assert.Equal(conflist.ToJson(), File.ReadAllText(result.Config));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(result.Binary));
        Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(result.Config));
        Assert.Empty(result.ConfigsBefore);
    }

    [Fact]
    public void Reinstall_replaces_by_rename_so_a_reader_of_the_old_binary_still_reads_it_whole()
    {
        byte[] old = "\u007fELF plugin v1, the one the kubelet is running"u8.ToArray();
        File.WriteAllBytes(Path.Combine(_binDir, CniInstaller.PluginFileName), old);
        File.WriteAllText(Path.Combine(_confDir, CniConflist.FileName), "{\"old\": true}");
        using var running = new FileStream(Path.Combine(_binDir, CniInstaller.PluginFileName), FileMode.Open, FileAccess.Read);

        CniInstaller.Install(Conflist(), _plugin, _binDir, _confDir);

        var seen = new byte[old.Length + 16];
        int read = running.ReadAtLeast(seen, seen.Length, throwOnEndOfStream: false);
        Assert.Equal(old, seen[..read]);
        Assert.Equal(File.ReadAllBytes(_plugin), File.ReadAllBytes(Path.Combine(_binDir, CniInstaller.PluginFileName)));
        Assert.Equal(Conflist().ToJson(), File.ReadAllText(Path.Combine(_confDir, CniConflist.FileName)));
        Assert.Equal([CniInstaller.PluginFileName], Listing(_binDir));
        Assert.Equal([CniConflist.FileName], Listing(_confDir));
    }

    [Fact]
    public void A_failed_conflist_write_names_the_file_and_leaves_no_temporary_file()
    {
        // A directory where the conflist goes: the rename over it fails after the temporary file was written.
        string occupied = Directory.CreateDirectory(Path.Combine(_confDir, CniConflist.FileName)).FullName;
        File.WriteAllText(Path.Combine(occupied, "keep"), "");

        var ex = Assert.Throws<CniInstallException>(() => CniInstaller.Install(Conflist(), _plugin, _binDir, _confDir));

        Assert.StartsWith($"cannot install {occupied}: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Equal([CniConflist.FileName], Listing(_confDir));
        Assert.Equal(["keep"], Listing(occupied));
        // The binary goes first, so a runtime that sees a conflist always finds its plugin.
        Assert.Equal([CniInstaller.PluginFileName], Listing(_binDir));
    }

    [Fact]
    public void An_unwritable_bin_dir_is_permission_denied_and_nothing_is_written()
    {
        MakeUnwritable(_binDir);

        var ex = Assert.Throws<CniInstallException>(() => CniInstaller.Install(Conflist(), _plugin, _binDir, _confDir));

        Assert.Equal($"cannot install {Path.Combine(_binDir, "dataplane-cni")}: permission denied", ex.Message);
        Assert.Empty(Listing(_binDir));
        Assert.Empty(Listing(_confDir));
    }

    [Fact]
    public void A_missing_plugin_or_directory_fails_before_anything_is_written()
    {
        string missing = Path.Combine(_root, "nowhere", "dataplane-cni");

        var plugin = Assert.Throws<CniInstallException>(() => CniInstaller.Install(Conflist(), missing, _binDir, _confDir));
        var confDir = Assert.Throws<CniInstallException>(() => CniInstaller.Install(Conflist(), _plugin, _binDir, Path.Combine(_root, "net.d-typo")));

        Assert.Equal($"CNI plugin binary {missing} not found (publish src/Dataplane.Cni and pass --cni-binary PATH)", plugin.Message);
        Assert.Equal($"CNI conf dir {Path.Combine(_root, "net.d-typo")} does not exist", confDir.Message);
        Assert.Empty(Listing(_binDir));
        Assert.Empty(Listing(_confDir));
        Assert.False(Directory.Exists(Path.Combine(_root, "net.d-typo")));
    }

    [Fact]
    public void Network_configurations_the_runtime_would_pick_first_are_reported()
    {
        foreach (string name in (string[])["05-bridge.conflist", "09-x.conf", "00-notes.txt", "99-loopback.conf", "10-dataplane.conflist.bak"])
        {
            File.WriteAllText(Path.Combine(_confDir, name), "{}");
        }

        CniInstallResult result = CniInstaller.Install(Conflist(), _plugin, _binDir, _confDir);

        Assert.Equal(["05-bridge.conflist", "09-x.conf"], result.ConfigsBefore);
    }

    [Fact]
    public void The_command_installs_both_files_and_says_what_pods_will_get()
    {
        (int code, string stdout, string stderr) = Invoke("--node-name", "node-a", "--pod-cidr", "10.244.1.0/24", "--pod-cidr", "fd00:10:244:1::/64");

        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Equal(
            $"dataplane install-cni: installed {_binDir}/dataplane-cni and {_confDir}/10-dataplane.conflist: node node-a: pods in 10.244.1.0/24 "
            + "(gateway 10.244.1.1) and fd00:10:244:1::/64 (gateway fd00:10:244:1::1), daemon at /run/dataplane/node-a.sock, CNI 1.0.0",
            stdout.TrimEnd('\n'));
        Assert.Equal([CniConflist.FileName], Listing(_confDir));
    }

    [Fact]
    public async Task Without_pod_cidr_the_nodes_pod_cidrs_come_from_the_api_server()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.UpsertFixture(ApiFixtures.Node);

        (int code, string stdout, string stderr) = Invoke("--node-name", "node-a", "--kubeconfig", server.WriteKubeconfig(_root));

        Assert.True(code == 0, stderr);
        Assert.Contains("pods in 10.244.1.0/24", stdout, StringComparison.Ordinal);
        JsonNode conflist = JsonNode.Parse(File.ReadAllText(Path.Combine(_confDir, CniConflist.FileName)))!;
        string[] subnets = [.. conflist["plugins"]![0]!["ipam"]!["ranges"]!.AsArray().Select(static r => r![0]!["subnet"]!.GetValue<string>())];
        Assert.Equal(["10.244.1.0/24", "fd00:10:244:1::/64"], subnets);
    }

    [Fact]
    public void Without_pod_cidr_a_kubeconfig_that_does_not_exist_is_one_line_and_writes_nothing()
    {
        string missing = Path.Combine(_root, "no-such-kubeconfig");
        (int code, string stdout, string stderr) = Invoke("--node-name", "node-a", "--kubeconfig", missing);

        Assert.Equal(InstallCniCommand.ExitBadInput, code);
        Assert.Equal("", stdout);
        Assert.Equal($"dataplane install-cni: kubeconfig {missing}: no such file", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Empty(Listing(_binDir));
        Assert.Empty(Listing(_confDir));
    }

    [Theory]
    [InlineData(2, "dataplane install-cni: pod CIDR '10.244.1.0/40': prefix length must be 0..32", "--pod-cidr", "10.244.1.0/40")]
    [InlineData(1, "dataplane install-cni: cannot install {bin}/dataplane-cni: permission denied", "--pod-cidr", "10.244.1.0/24")]
    public void A_failing_command_prints_one_line_without_a_stack_trace_and_writes_nothing(int expectedCode, string expected, params string[] args)
    {
        MakeUnwritable(_binDir);

        (int code, string stdout, string stderr) = Invoke(["--node-name", "node-a", .. args]);

        Assert.Equal(expectedCode, code);
        Assert.Equal("", stdout);
        Assert.Equal(expected.Replace("{bin}", _binDir, StringComparison.Ordinal), Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Empty(Listing(_binDir));
        Assert.Empty(Listing(_confDir));
    }

    private static IReadOnlyList<(string Subnet, string Gateway)> Ranges(JsonObject plugin) =>
        [.. plugin["ipam"]!["ranges"]!.AsArray().Select(static set =>
        {
            JsonNode range = Assert.Single(set!.AsArray())!;
            return ((string)range["subnet"]!, (string)range["gateway"]!);
        })];

    private static CniConflist Conflist() => CniConflist.Create("node-a", ["10.244.1.0/24"], Socket, mtu: null, "1.0.0");

    /// <summary>Every entry, hidden ones (the temporary files) included.</summary>
    private static IReadOnlyList<string> Listing(string dir) =>
        [.. Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    /// <summary>
    /// Root ignores file modes, so as root the directory is made immutable (chattr +i, which refuses even root),
    /// otherwise read-only. Either way creating a file in it fails, and Dispose undoes it.
    /// </summary>
    private void MakeUnwritable(string dir)
    {
        if (Environment.IsPrivilegedProcess)
        {
            ProcessRunner.Run(s_timeout, "chattr", "+i", dir).EnsureSuccess();
            _immutable = true;
        }
        else
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
    }

    private (int Code, string Stdout, string Stderr) Invoke(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        ParseResult parse = DataplaneCli.Create().Parse(["install-cni", "--bin-dir", _binDir, "--conf-dir", _confDir, "--cni-binary", _plugin, .. args]);
        int code = parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }
}
