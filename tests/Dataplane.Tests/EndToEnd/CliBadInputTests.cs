using System.Runtime.Versioning;
using System.Security.Cryptography;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.EndToEnd;

/// <summary>
/// The built `dataplane` as a child process, walked through bad paths, permissions and values in every subcommand.
/// Each must answer with a message on stderr naming the problem and a non-zero exit code (2 for bad input, 1 for an
/// environment that refuses), never a stack trace, and leave nothing behind: the test directory is byte for byte as
/// it was (no half-written output, no socket), and no namespace is made.
/// </summary>
[SupportedOSPlatform("linux")]
[Trait("Category", "e2e")]
public sealed class CliBadInputTests : IDisposable
{
    private const int BadInput = 2;
    private const int Refused = 1;
    private const string Nobody = "65534";

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly string _dir;

    public CliBadInputTests()
    {
        _dir = Directory.CreateTempSubdirectory("dataplane-cli-").FullName;
        // Searchable by uid 65534, which runs some of the cases; what it may not read is made unreadable below.
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        File.Copy(Repository.PathOf("examples", "demo", "node.yaml"), Path.Combine(_dir, "node.yaml"));
        File.Copy(Repository.PathOf("examples", "demo", "client.pcap"), Path.Combine(_dir, "client.pcap"));
        File.WriteAllText(Path.Combine(_dir, "file"), "a regular file\n");
        File.WriteAllText(Path.Combine(_dir, "objects.yaml"), "apiVersion: v1\nkind: List\nitems: []\n");
        Directory.CreateDirectory(Path.Combine(_dir, "dir"));
        foreach (string name in (string[])["unreadable.yaml", "unreadable.pcap"])
        {
            File.Copy(Path.Combine(_dir, name.EndsWith(".yaml", StringComparison.Ordinal) ? "node.yaml" : "client.pcap"), Path.Combine(_dir, name));
            File.SetUnixFileMode(Path.Combine(_dir, name), UnixFileMode.None);
        }
    }

    public void Dispose()
    {
        foreach (string mount in Mounts().Where(m => m.StartsWith(_dir + "/", StringComparison.Ordinal)))
        {
            ProcessRunner.Run(s_timeout, "umount", "-l", mount);
        }

        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>{dir} is the test's directory: dir/ a directory, file a regular file, node.yaml and client.pcap the demo's.</summary>
    public static TheoryData<string, string[], int, string> BadInvocations => new()
    {
        { "replay --write under a regular file", Replay("-w", "{dir}/file/out"), Refused, "{dir}/file is not a directory" },
        { "replay --write a character device", Replay("-w", "/dev/full"), Refused, "/dev/full: exists and is not a directory" },
        { "replay --in a directory", ["replay", "-c", "{dir}/node.yaml", "-i", "client={dir}/dir", "-w", "{dir}/out"], Refused, "{dir}/dir: is a directory; expected a pcap or pcapng file" },
        { "replay --in a missing file", ["replay", "-c", "{dir}/node.yaml", "-i", "client={dir}/none.pcap", "-w", "{dir}/out"], Refused, "{dir}/none.pcap" },
        { "replay --config a directory", ["replay", "-c", "{dir}/dir", "-i", "client={dir}/client.pcap", "-w", "{dir}/out"], BadInput, "{dir}/dir: cannot read the config file: it is a directory" },
        { "replay --config a missing file", ["replay", "-c", "{dir}/none.yaml", "-i", "client={dir}/client.pcap", "-w", "{dir}/out"], BadInput, "{dir}/none.yaml: cannot read the config file" },
        { "replay --objects a directory", Replay("-w", "{dir}/out", "--objects", "{dir}/dir"), BadInput, "{dir}/dir: is a directory" },
        { "replay --batch-size not a number", Replay("-w", "{dir}/out", "--batch-size", "many"), BadInput, "dataplane replay: --batch-size 'many': expected a whole number 1..256" },
        { "replay --batch-size out of range", Replay("-w", "{dir}/out", "--batch-size", "257"), BadInput, "dataplane replay: --batch-size '257': expected a whole number 1..256" },
        { "replay an unknown option", Replay("-w", "{dir}/out", "--frobnicate"), BadInput, "dataplane replay: Unrecognized command or argument '--frobnicate'" },
        { "ctl --socket a regular file", ["ctl", "--socket", "{dir}/file", "status"], Refused, "no dataplane is listening on {dir}/file" },
        { "ctl --config a directory", ["ctl", "--config", "{dir}/dir", "status"], BadInput, "{dir}/dir: cannot read the config file: it is a directory" },
        { "ctl service apply -f a directory", ["ctl", "--socket", "{dir}/none.sock", "service", "apply", "-f", "{dir}/dir"], BadInput, "dataplane ctl service apply: {dir}/dir: is a directory" },
        { "ctl service apply -f a missing file", ["ctl", "--socket", "{dir}/none.sock", "service", "apply", "-f", "{dir}/none.yaml"], BadInput, "dataplane ctl service apply: {dir}/none.yaml" },
        { "ctl trace a count that is not a number", ["ctl", "--socket", "{dir}/none.sock", "trace", "many"], BadInput, "dataplane ctl trace: Cannot parse argument 'many'" },
        { "ctl capture --write under a regular file", ["ctl", "--socket", "{dir}/none.sock", "capture", "--all", "-w", "{dir}/file/x.pcap"], Refused, "dataplane ctl capture: " },
        { "ctl an unknown command", ["ctl", "frobnicate"], BadInput, "dataplane ctl: unknown command 'frobnicate'" },
        { "graph an unknown option", ["graph", "--frobnicate"], BadInput, "dataplane graph: Unrecognized command or argument '--frobnicate'" },
        { "run --log-level not a level", ["run", "-c", "{dir}/node.yaml", "--log-level", "Loud"], BadInput, "dataplane run: Cannot parse argument 'Loud' for option '--log-level'" },
        { "run --metrics-address not an address", ["run", "-c", "{dir}/node.yaml", "--metrics-address", "localhost"], BadInput, "dataplane run: --metrics-address" },
        { "install-cni --mtu not a number", ["install-cni", "--pod-cidr", "10.244.1.0/24", "--mtu", "big"], BadInput, "dataplane install-cni: Cannot parse argument 'big' for option '--mtu'" },
        { "install-cni --mtu out of range", InstallCni("--bin-dir", "{dir}/dir", "--conf-dir", "{dir}/dir", "--mtu", "70000"), BadInput, "MTU 70000 is out of range" },
        { "install-cni --bin-dir under a regular file", InstallCni("--bin-dir", "{dir}/file/bin", "--conf-dir", "{dir}/dir"), Refused, "{dir}/file/bin" },
        { "ingress --objects a directory", ["ingress", "--http", "127.0.0.1:0", "--objects", "{dir}/dir"], BadInput, "dataplane ingress: {dir}/dir: is a directory" },
        { "ingress --control-socket a regular file", ["ingress", "--http", "127.0.0.1:0", "--objects", "{dir}/objects.yaml", "--control-socket", "{dir}/file"], BadInput, "dataplane ingress: --control-socket '{dir}/file' is a regular file, not a socket" },
        { "ingress --http a port out of range", ["ingress", "--http", "127.0.0.1:99999", "--objects", "{dir}/node.yaml"], BadInput, "dataplane ingress: --http '127.0.0.1:99999'" },
        { "demo --offline --write under a regular file", ["demo", "--offline", "--no-trace", "-w", "{dir}/file/out"], Refused, "{dir}/file is not a directory" },
        { "demo an unknown option", ["demo", "--frobnicate"], BadInput, "dataplane demo: Unrecognized command or argument '--frobnicate'" },
        { "pod-server --port out of range", ["pod-server", "web", "--port", "70000"], BadInput, "dataplane pod-server: --port '70000': expected a whole number 1..65535" },
        { "pod-server --port not a number", ["pod-server", "web", "--port", "http"], BadInput, "dataplane pod-server: --port 'http': expected a whole number 1..65535" },
        { "an unknown command", ["frobnicate"], BadInput, "dataplane: unknown command 'frobnicate'" },
    };

    /// <summary>Run as uid 65534 (setpriv), so what only root may read or write is refused by the kernel.</summary>
    public static TheoryData<string, string[], int, string> BadInvocationsAsNobody => new()
    {
        { "ctl --config unreadable", ["ctl", "--config", "{dir}/unreadable.yaml", "status"], BadInput, "{dir}/unreadable.yaml: cannot read the config file" },
        { "replay --config unreadable", ["replay", "-c", "{dir}/unreadable.yaml", "-i", "client={dir}/client.pcap", "-w", "{dir}/out"], BadInput, "{dir}/unreadable.yaml: cannot read the config file" },
        { "replay --in unreadable", ["replay", "-c", "{dir}/node.yaml", "-i", "client={dir}/unreadable.pcap", "-w", "{dir}/out"], Refused, "{dir}/unreadable.pcap" },
        { "replay --write in a directory only root may write", Replay("-w", "{dir}/dir"), Refused, "{dir}/dir: cannot write the replay's output" },
        { "replay --write a new directory where only root may make one", Replay("-w", "{dir}/out"), Refused, "{dir}/out: cannot create the output directory" },
        { "run as non-root", ["run", "-c", "{dir}/node.yaml"], Refused, "dataplane run: needs root" },
        { "install-cni into directories only root may write", InstallCni("--bin-dir", "{dir}/dir", "--conf-dir", "{dir}/dir"), Refused, "dataplane install-cni: cannot install" },
        { "ingress --objects unreadable", ["ingress", "--http", "127.0.0.1:0", "--objects", "{dir}/unreadable.yaml"], BadInput, "dataplane ingress: {dir}/unreadable.yaml: permission denied" },
    };

    [Theory]
    [MemberData(nameof(BadInvocations))]
    public void Bad_input_is_one_message_and_a_non_zero_exit_with_nothing_left_behind(string description, string[] arguments, int exitCode, string message)
    {
        AssertRefusedCleanly(description, exitCode, message, () => Cli(Expand(arguments)));
    }

    [RootTheory]
    [MemberData(nameof(BadInvocationsAsNobody))]
    public void What_a_non_root_user_may_not_read_or_write_is_one_message_and_a_non_zero_exit(string description, string[] arguments, int exitCode, string message)
    {
        AssertRefusedCleanly(description, exitCode, message, () => CliAsNobody(Expand(arguments)));
    }

    [RootFact]
    public void Ctl_as_non_root_without_socket_says_permission_denied()
    {
        // The daemon makes /run/dataplane 0700; make it so if no daemon ran here yet, and leave the host as it was.
        const string runDirectory = "/run/dataplane";
        bool made = !Directory.Exists(runDirectory);
        Directory.CreateDirectory(runDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(runDirectory) & (UnixFileMode.OtherRead | UnixFileMode.OtherExecute));

            AssertRefusedCleanly("ctl status as non-root", Refused, "cannot look for a control socket in /run/dataplane: permission denied", () => CliAsNobody("ctl", "status"));
        }
        finally
        {
            if (made)
            {
                Directory.Delete(runDirectory);
            }
        }
    }

    [RootFact]
    public void Replay_onto_a_full_file_system_fails_with_a_message_and_removes_what_it_wrote()
    {
        string full = Path.Combine(_dir, "full");
        Mount(full, "size=4k");
        using (var filler = new FileStream(Path.Combine(full, "filler"), FileMode.CreateNew))
        {
            // Take every page the file system has, so the replay's first write is the one refused.
            Assert.ThrowsAny<IOException>(() =>
            {
                for (int i = 0; i < 64; i++)
                {
                    filler.Write(new byte[4096]);
                    filler.Flush();
                }
            });
        }

        AssertRefusedCleanly("replay onto a full tmpfs", Refused, "No space left on device", () => Cli(Expand(Replay("-w", "{dir}/full/out"))));
        Assert.False(Directory.Exists(Path.Combine(full, "out")), "the output directory the replay made is still there");
    }

    [RootFact]
    public void Replay_onto_a_read_only_file_system_fails_with_a_message()
    {
        string readOnly = Path.Combine(_dir, "ro");
        Mount(readOnly, "ro,size=64k");

        AssertRefusedCleanly("replay onto a read-only tmpfs", Refused, "{dir}/ro: cannot write the replay's output", () => Cli(Expand(Replay("-w", "{dir}/ro"))));
        AssertRefusedCleanly("replay onto a read-only tmpfs", Refused, "{dir}/ro/out: cannot create the output directory", () => Cli(Expand(Replay("-w", "{dir}/ro/out"))));
    }

    [RootFact]
    public void Run_refuses_a_control_socket_path_holding_a_regular_file_and_leaves_the_file_alone()
    {
        string socket = Path.Combine(_dir, "file");
        string config = WriteConfig(pods: "[]", $"dataplane:\n  controlSocket: {socket}\n");
        int line = LineOf(config, "  controlSocket: ");
        using var namespaces = new TestNamespaces();

        ProcessResult result = AssertRefusedCleanly("run with dataplane.controlSocket a regular file", BadInput, $"{config}:{line}:",
            () => Cli("run", "-c", config, "--netns", namespaces.Add()));

        // The file itself is unchanged: AssertRefusedCleanly compared the whole directory.
        Assert.Contains($"dataplane.controlSocket: '{socket}' is a regular file, not a socket", result.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(socket + ".lock"), "the daemon took the node's lock: it got past validation");
    }

    [RootFact]
    public void Run_refuses_a_regular_file_where_the_metrics_socket_goes_and_leaves_it_alone()
    {
        // The daemon serves /metrics on node.http next to its control socket node.sock, replacing a stale socket there.
        File.WriteAllText(Path.Combine(_dir, "node.http"), "not a socket\n");
        string config = WriteConfig(pods: "[]", $"dataplane:\n  controlSocket: {_dir}/node.sock\n");
        using var namespaces = new TestNamespaces();

        AssertRefusedCleanly("run with a regular file at the metrics socket's path", Refused, $"'{_dir}/node.http' is a regular file, not a socket",
            () => Cli("run", "-c", config, "--netns", namespaces.Add()));
    }

    [RootFact]
    public void Run_refuses_two_pods_sharing_a_network_namespace_at_the_second_pods_line_and_makes_no_namespace()
    {
        using var namespaces = new TestNamespaces();
        string shared = namespaces.NewName();
        string config = WriteConfig(
            pods: $"\n  - {{ name: web, ip: 10.244.1.11, mac: 02:00:00:00:00:0b, netns: {shared} }}\n  - {{ name: db, ip: 10.244.1.12, mac: 02:00:00:00:00:0c, netns: {shared} }}",
            $"dataplane:\n  controlSocket: {_dir}/node.sock\n");
        int line = LineOf(config, "  - { name: db");

        ProcessResult result = AssertRefusedCleanly("run with two pods in one netns", BadInput, $"{config}:{line}:",
            () => Cli("run", "-c", config, "--netns", namespaces.Add()));

        Assert.Contains("pods[1].netns", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain(shared, TestNamespaces.ListNamespaces());
    }

    private static string[] Replay(params string[] more) => ["replay", "-c", "{dir}/node.yaml", "-i", "client={dir}/client.pcap", .. more];

    private static string[] InstallCni(params string[] more) =>
        ["install-cni", "--node-name", "node-a", "--pod-cidr", "10.244.1.0/24", "--cni-binary", "{dir}/client.pcap", .. more];

    /// <summary>
    /// Runs the command and checks the answer: the exit code, the message on stderr, no stack trace anywhere, at most
    /// two lines on stderr (the problem, and for a config its summary line), and the test directory unchanged.
    /// </summary>
    private ProcessResult AssertRefusedCleanly(string description, int exitCode, string message, Func<ProcessResult> run)
    {
        Dictionary<string, string> before = Snapshot();

        ProcessResult result = run();

        string all = result.StdOut + result.StdErr;
        string[] errorLines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(result.ExitCode == exitCode, $"{description}: exit code {result.ExitCode}, expected {exitCode}\n{all}");
        Assert.True(result.StdErr.Contains(message.Replace("{dir}", _dir, StringComparison.Ordinal), StringComparison.Ordinal), $"{description}: stderr lacks '{message}'\n{all}");
        Assert.False(all.Contains("   at ", StringComparison.Ordinal) || all.Contains("Unhandled exception", StringComparison.Ordinal), $"{description}: a stack trace\n{all}");
        Assert.True(errorLines.Length <= 2, $"{description}: {errorLines.Length} lines on stderr\n{result.StdErr}");
        Assert.Equal(before, Snapshot());
        return result;
    }

    /// <summary>Every file and directory under the test directory with a hash of its content (sockets and directories as markers).</summary>
    private Dictionary<string, string> Snapshot()
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in Directory.EnumerateFileSystemEntries(_dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false }))
        {
            entries[path] = Directory.Exists(path) ? "directory" : path.EndsWith(".sock", StringComparison.Ordinal) ? "socket" : Hash(path);
        }

        return entries;
    }

    private static string Hash(string path)
    {
        try
        {
            return Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
        }
        catch (IOException e)
        {
            // A socket or device: its presence is what counts.
            return e.GetType().Name;
        }
    }

    private string[] Expand(string[] arguments) => [.. arguments.Select(a => a.Replace("{dir}", _dir, StringComparison.Ordinal))];

    private static ProcessResult Cli(params string[] arguments) =>
        ProcessRunner.Run(s_timeout, NodeUnderTest.DotnetHost, [NodeUnderTest.DataplaneDll, .. arguments]);

    private static ProcessResult CliAsNobody(params string[] arguments) =>
        ProcessRunner.Run(s_timeout, "setpriv", ["--reuid", Nobody, "--regid", Nobody, "--clear-groups", NodeUnderTest.DotnetHost, NodeUnderTest.DataplaneDll, .. arguments]);

    /// <summary>A node without an uplink (nothing outside the test's namespaces is opened) with the given pods and more.</summary>
    private string WriteConfig(string pods, string more)
    {
        string path = Path.Combine(_dir, "bad-node.yaml");
        File.WriteAllText(path, $"""
            node:
              name: node-cli
              podCidr: 10.244.1.0/24
              gatewayIp: 10.244.1.1
              mac: 02:00:00:00:01:01
            pods: {pods}
            {more}
            """);
        return path;
    }

    private static int LineOf(string file, string prefix) =>
        Array.FindIndex(File.ReadAllLines(file), l => l.StartsWith(prefix, StringComparison.Ordinal)) + 1;

    /// <summary>A tmpfs at <paramref name="path"/>; Dispose unmounts it even when the test fails.</summary>
    private static void Mount(string path, string options)
    {
        Directory.CreateDirectory(path);
        ProcessRunner.Run(s_timeout, "mount", "-t", "tmpfs", "-o", $"{options},mode=0755", "tmpfs", path).EnsureSuccess();
    }

    private static IEnumerable<string> Mounts() =>
        File.ReadAllLines("/proc/self/mounts").Select(static l => l.Split(' ')[1]).Where(static m => m.Length > 0);
}
