using Dataplane.CniDriver;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.Tests.Infrastructure;

/// <summary>
/// tests/cni-driver, the libcni driver (the library containerd and CRI-O call plugins through), built once per test
/// run with Debian's Go and golang-github-appc-cni-dev, offline, in GOPATH mode. <see cref="CniNetwork"/> runs it.
/// </summary>
public static class CniDriver
{
    public static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Where Debian's golang-github-appc-cni-dev puts libcni (a GOPATH tree).</summary>
    public const string DebianGoPath = "/usr/share/gocode";

    private static readonly Lazy<string> s_executable = new(() => Build(Path.Combine(AppContext.BaseDirectory, "cni-driver")));

    /// <summary>The driver, built on first use in this run into the test output (bin/.../cni-driver/cni-driver).</summary>
    public static string Executable => s_executable.Value;

    /// <summary>The driver's source folder.</summary>
    public static string SourceDirectory => Repository.PathOf("tests", "cni-driver");

    /// <summary>
    /// Builds the driver into <paramref name="outputDirectory"/> and returns its path. GOPATH mode (no go.mod, nothing
    /// fetched): the packaged libcni sources resolve from <see cref="DebianGoPath"/>; GOPATH's first entry and the build
    /// cache are a temp directory, removed afterwards.
    /// </summary>
    public static string Build(string outputDirectory)
    {
        if (!File.Exists(Path.Combine(DebianGoPath, "src", "github.com", "containernetworking", "cni", "libcni", "api.go")))
        {
            throw new InvalidOperationException($"libcni sources are missing under {DebianGoPath}: scripts/setup.sh installs golang-go and golang-github-appc-cni-dev");
        }

        Directory.CreateDirectory(outputDirectory);
        string output = Path.Combine(outputDirectory, "cni-driver");
        DirectoryInfo work = Directory.CreateTempSubdirectory("dpt-gobuild-");
        try
        {
            // GOPATH mode builds a main package from its own directory (`go build .`); env -C gets it there.
            ProcessRunner.Run(BuildTimeout, "env", "-C", SourceDirectory,
                "GO111MODULE=off", $"GOPATH={work.FullName}:{DebianGoPath}", $"GOCACHE={Path.Combine(work.FullName, "cache")}",
                "GOFLAGS=", "GOPROXY=off", "CGO_ENABLED=0",
                "go", "build", "-o", output, ".").EnsureSuccess();
        }
        finally
        {
            // The build cache holds read-only files: make them writable so the delete cannot fail on them.
            ProcessRunner.Run(TimeSpan.FromMinutes(1), "chmod", "-R", "u+w", work.FullName);
            work.Delete(recursive: true);
        }

        return output;
    }
}

/// <summary>
/// One CNI network as a runtime sees it: a conflist, the plugin directories and a libcni cache directory, with the
/// driver run in <see cref="DriverNamespace"/> (`ip netns exec`, where plugins such as bridge create host-side links)
/// or, when null, where the tests run (for plugins that only touch the pod's namespace and a daemon's socket).
/// </summary>
public sealed class CniNetwork
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromMinutes(2);
    public static readonly TimeSpan BenchTimeout = TimeSpan.FromMinutes(10);

    public CniNetwork(string conflist, IEnumerable<string> pluginDirectories, string cacheDirectory, string? driverNamespace)
    {
        Conflist = conflist;
        PluginDirectories = [.. pluginDirectories];
        CacheDirectory = cacheDirectory;
        DriverNamespace = driverNamespace;
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(conflist));
        Name = document.RootElement.GetProperty("name").GetString()!;
    }

    public string Conflist { get; }

    public string Name { get; }

    public IReadOnlyList<string> PluginDirectories { get; }

    public string CacheDirectory { get; }

    public string? DriverNamespace { get; }

    /// <summary>ADD; returns the result JSON (throws with the plugin's error when it fails).</summary>
    public JsonElement Add(string netns, string containerId, string ifName = "eth0", string? args = null)
    {
        ProcessResult result = Run(CallTimeout, Single("add", netns, containerId, ifName, args)).EnsureSuccess();
        using JsonDocument document = JsonDocument.Parse(result.StdOut);
        return document.RootElement.Clone();
    }

    /// <summary>CHECK; the raw outcome, since tests assert failures too.</summary>
    public ProcessResult Check(string netns, string containerId, string ifName = "eth0", string? args = null) =>
        Run(CallTimeout, Single("check", netns, containerId, ifName, args));

    /// <summary>DEL; the raw outcome.</summary>
    public ProcessResult Del(string netns, string containerId, string ifName = "eth0", string? args = null) =>
        Run(CallTimeout, Single("del", netns, containerId, ifName, args));

    /// <summary>
    /// `cni-driver bench`: ADD to <paramref name="options"/>.Count namespaces named Prefix0.., P at a time, then DEL from
    /// all. Returns the parsed report even when operations failed (its Errors say which); throws only when the driver
    /// printed no report.
    /// </summary>
    public BenchReport Bench(CniBenchOptions options)
    {
        List<string> args = ["bench", .. Common(), "--count", Invariant(options.Count), "--parallel", Invariant(options.Parallel),
            "--netns-prefix", options.NetnsPrefix];
        if (options.CreateNamespaces)
        {
            args.Add("--create-netns");
        }

        if (options.ReadyPing)
        {
            args.AddRange(["--ready-ping", "--ready-timeout", $"{(int)options.ReadyTimeout.TotalSeconds}s"]);
            if (options.ReadyTarget is not null)
            {
                args.AddRange(["--ready-target", options.ReadyTarget]);
            }
        }

        if (options.WatchNetns is not null)
        {
            args.AddRange(["--watch-netns", options.WatchNetns, "--watch-ip", options.WatchIp!, "--watch-interval", $"{(int)options.WatchInterval.TotalMilliseconds}ms"]);
        }

        if (options.Args is not null)
        {
            args.AddRange(["--args", options.Args]);
        }

        ProcessResult result = Run(BenchTimeout, args);
        if (result.StdOut.TrimStart().StartsWith('{'))
        {
            BenchReport bench = JsonSerializer.Deserialize<BenchReport>(result.StdOut)
                ?? throw new InvalidOperationException($"`{result.Command}` printed null");
            return bench with { ExitCode = result.ExitCode, StdErr = result.StdErr };
        }

        throw new InvalidOperationException($"`{result.Command}` exited with {result.ExitCode} and no report: {result.StdErr.Trim()} {result.StdOut.Trim()}");
    }

    private List<string> Common() =>
        ["--conflist", Conflist, "--bin", string.Join(':', PluginDirectories), "--cache-dir", CacheDirectory];

    private List<string> Single(string command, string netns, string containerId, string ifName, string? args)
    {
        List<string> argv = [command, .. Common(), "--netns", netns, "--id", containerId, "--ifname", ifName];
        if (args is not null)
        {
            argv.AddRange(["--args", args]);
        }

        return argv;
    }

    private ProcessResult Run(TimeSpan timeout, List<string> args) => DriverNamespace is null
        ? ProcessRunner.Run(timeout, CniDriver.Executable, [.. args])
        : ProcessRunner.Run(timeout, "ip", ["netns", "exec", DriverNamespace, CniDriver.Executable, .. args]);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What `cni-driver bench` does: see <see cref="CniNetwork.Bench"/>.</summary>
public sealed record CniBenchOptions
{
    public required string NetnsPrefix { get; init; }

    public int Count { get; init; } = 10;

    public int Parallel { get; init; } = 1;

    /// <summary>The driver makes the namespaces (ip netns add) and deletes them at the end.</summary>
    public bool CreateNamespaces { get; init; } = true;

    /// <summary>After each ADD, ping the gateway of the result (or <see cref="ReadyTarget"/>) from the pod until it answers.</summary>
    public bool ReadyPing { get; init; }

    public string? ReadyTarget { get; init; }

    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>An existing pod (namespace path or name) that pings <see cref="WatchIp"/> during the whole churn.</summary>
    public string? WatchNetns { get; init; }

    public string? WatchIp { get; init; }

    public TimeSpan WatchInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>CNI_ARGS (K=V;K=V) for every call.</summary>
    public string? Args { get; init; }
}
