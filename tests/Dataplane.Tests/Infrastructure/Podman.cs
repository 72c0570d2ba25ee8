using System.Formats.Tar;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.Tests.Infrastructure;

/// <summary>Test classes that run podman share this collection, so they never run at once (see <see cref="PodmanHost"/>).</summary>
[CollectionDefinition(Name)]
public sealed class PodmanCollection
{
    public const string Name = "podman";
}

/// <summary>A container as `podman inspect` shows it: its address on our network, its network namespace and its PID.</summary>
public sealed record PodmanContainer(string Name, string Id, string? Ip, string SandboxKey, int Pid);

/// <summary>
/// podman 4 in isolation, driving CNI plugins as a real runtime: its own --root/--runroot/--tmpdir under a temp
/// directory, the vfs storage driver (plain directories, so no overlay mounts to leak), a containers.conf
/// (CONTAINERS_CONF) selecting the CNI backend with our plugin directories, a network config directory holding only
/// our test network's conflist, runc with cgroupfs, no events. The image is busybox-static imported from a tar
/// (nothing pulled). Containers always join our network (or none): podman's default network would touch the host.
/// <para>
/// With <c>netns</c> set, every podman command runs as `nsenter --net=/var/run/netns/NETNS podman ...`: CNI plugins
/// such as bridge then create their host-side links in that test namespace, while podman keeps the host's mount
/// namespace (`ip netns exec` would give each command a private one, hiding the previous command's mounts).
/// </para>
/// <para>
/// Two things podman 4.3 puts outside its root whatever the flags: libcni's result cache (/var/lib/cni/results, one
/// file per attachment, removed on teardown) and the image blob-info cache (/var/lib/containers/cache, from
/// import). Dispose removes those directories when they did not exist before this instance.
/// </para>
/// </summary>
public sealed class PodmanHost : IDisposable
{
    public const string Image = "localhost/dpt-busybox:latest";
    public const string Runtime = "/usr/sbin/runc";
    public const string Busybox = "/bin/busybox";
    public const string LibcniCache = "/var/lib/cni";
    public const string ContainersState = "/var/lib/containers";

    /// <summary>The busybox applets the image links in /bin.</summary>
    public static readonly string[] Applets = ["sh", "ping", "wget", "nc", "ip", "ifconfig", "sleep", "httpd", "cat", "ls", "sysctl", "hostname"];

    /// <summary>What every container gets: this machine caps rlimits, and ping needs raw sockets.</summary>
    public static readonly string[] RunDefaults = ["--ulimit", "nofile=1024:4096", "--ulimit", "nproc=1024:4096", "--cap-add", "NET_RAW"];

    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    private readonly List<string> _hostDirectoriesToRemove;
    private bool _disposed;

    /// <param name="netns">A test namespace to run podman in, or null for the host's (only with plugins that touch no host link).</param>
    /// <param name="networkName">The CNI network's name, the only one in podman's config directory.</param>
    /// <param name="pluginDirectories">CNI plugin directories (cni_plugin_dirs).</param>
    /// <param name="plugins">The conflist's plugins.</param>
    public PodmanHost(string? netns, string networkName, IReadOnlyList<string> pluginDirectories, params JsonObject[] plugins)
    {
        if (netns is not null && !netns.StartsWith(TestNamespaces.Prefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"podman runs in a test namespace ({TestNamespaces.Prefix}...) or the host's, not in '{netns}'", nameof(netns));
        }

        Netns = netns;
        NetworkName = networkName;
        _hostDirectoriesToRemove = [.. new[] { LibcniCache, ContainersState }.Where(dir => !System.IO.Directory.Exists(dir))];
        Directory = System.IO.Directory.CreateTempSubdirectory(TestNamespaces.Prefix + "podman-").FullName;
        try
        {
            ConfigDirectory = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "net.d")).FullName;
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, "tmp"));
            CniConfigs.Write(Path.Combine(ConfigDirectory, networkName + ".conflist"), networkName, plugins);
            WriteContainersConf(pluginDirectories);
            ImportImage();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string? Netns { get; }

    public string NetworkName { get; }

    /// <summary>The temp directory holding podman's root, runroot, config and the image tar.</summary>
    public string Directory { get; }

    /// <summary>podman's network config directory (--network-config-dir).</summary>
    public string ConfigDirectory { get; } = "";

    private string ContainersConf => Path.Combine(Directory, "containers.conf");

    private string StorageConf => Path.Combine(Directory, "storage.conf");

    /// <summary>The command line every podman call starts with (for the report and for reproducing by hand).</summary>
    public IReadOnlyList<string> CommandPrefix =>
    [
        "env", $"CONTAINERS_CONF={ContainersConf}", $"CONTAINERS_STORAGE_CONF={StorageConf}",
        .. Netns is null ? Array.Empty<string>() : ["nsenter", $"--net=/var/run/netns/{Netns}"],
        "podman", "--root", Path.Combine(Directory, "root"), "--runroot", Path.Combine(Directory, "runroot"),
        "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--runtime", Runtime, "--events-backend", "none",
        "--tmpdir", Path.Combine(Directory, "tmp"), "--network-config-dir", ConfigDirectory,
    ];

    /// <summary>Runs `podman ARGS` (isolated as above); the raw outcome.</summary>
    public ProcessResult Podman(params string[] args) => ProcessRunner.Run(CommandTimeout, CommandPrefix[0], [.. CommandPrefix.Skip(1), .. args]);

    /// <summary>`podman run -d` on our network (or <paramref name="network"/>, e.g. "none"); returns the container as inspected.</summary>
    public PodmanContainer Run(string name, string[] command, string? network = null, params string[] extraRunArgs)
    {
        Podman(["run", "-d", "--name", name, "--network", network ?? NetworkName, .. RunDefaults, .. extraRunArgs, Image, .. command]).EnsureSuccess();
        return Inspect(name);
    }

    /// <summary>`podman exec NAME COMMAND...`; the raw outcome.</summary>
    public ProcessResult Exec(string name, params string[] command) => Podman(["exec", name, .. command]);

    public PodmanContainer Inspect(string name)
    {
        ProcessResult result = Podman("inspect", "--format", "json", name).EnsureSuccess();
        using JsonDocument document = JsonDocument.Parse(result.StdOut);
        JsonElement c = document.RootElement[0];
        JsonElement settings = c.GetProperty("NetworkSettings");
        string? ip = null;
        if (settings.TryGetProperty("Networks", out JsonElement networks) && networks.ValueKind == JsonValueKind.Object
            && networks.TryGetProperty(NetworkName, out JsonElement ours))
        {
            ip = ours.GetProperty("IPAddress").GetString();
        }

        return new PodmanContainer(name, c.GetProperty("Id").GetString()!, string.IsNullOrEmpty(ip) ? null : ip,
            settings.GetProperty("SandboxKey").GetString() ?? "", c.GetProperty("State").GetProperty("Pid").GetInt32());
    }

    /// <summary>`podman rm -f -t 0`: kill at once (busybox sleep as PID 1 ignores SIGTERM) and tear the network down.</summary>
    public void Remove(string name) => Podman("rm", "-f", "-t", "0", name).EnsureSuccess();

    /// <summary>Files in libcni's result cache that mention <paramref name="containerId"/> (left behind = a teardown that did not happen).</summary>
    public static IReadOnlyList<string> CachedResults(string containerId)
    {
        string results = Path.Combine(LibcniCache, "results");
        return System.IO.Directory.Exists(results)
            ? [.. System.IO.Directory.EnumerateFiles(results).Where(f => Path.GetFileName(f).Contains(containerId, StringComparison.Ordinal))]
            : [];
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var errors = new List<string>();
        if (System.IO.Directory.Exists(Path.Combine(Directory, "root")))
        {
            ProcessResult rm = Podman("rm", "-a", "-f", "-t", "0");
            if (rm.ExitCode != 0)
            {
                errors.Add($"podman rm -a: {rm.StdErr.Trim()}");
            }
        }

        // Whatever podman still has mounted under its root (a crashed teardown) would make the delete fail.
        foreach (string mount in MountsUnder(Directory).OrderByDescending(m => m.Length))
        {
            ProcessRunner.Run(TimeSpan.FromSeconds(15), "umount", "-l", mount);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException ex)
        {
            errors.Add($"removing {Directory}: {ex.Message}");
        }

        foreach (string dir in _hostDirectoriesToRemove)
        {
            if (System.IO.Directory.Exists(dir) && !System.IO.Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Any(IsForeign))
            {
                System.IO.Directory.Delete(dir, recursive: true);
            }
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException("podman cleanup: " + string.Join("; ", errors));
        }
    }

    // Only what podman itself leaves there may go with the directory: a result cache entry of some other network
    // (another runtime on this machine) keeps it.
    private static bool IsForeign(string file) =>
        !(file.StartsWith(Path.Combine(ContainersState, "cache") + "/", StringComparison.Ordinal) && Path.GetFileName(file) == "blob-info-cache-v1.boltdb");

    private static IEnumerable<string> MountsUnder(string dir) =>
        File.ReadLines("/proc/self/mountinfo").Select(line => line.Split(' ')[4]).Where(m => m.StartsWith(dir + "/", StringComparison.Ordinal));

    private void WriteContainersConf(IReadOnlyList<string> pluginDirectories)
    {
        string dirs = string.Join(", ", pluginDirectories.Select(d => $"\"{d}\""));
        File.WriteAllText(ContainersConf, $"""
            [network]
            network_backend = "cni"
            cni_plugin_dirs = [{dirs}]
            network_config_dir = "{ConfigDirectory}"
            default_network = "{NetworkName}"

            [engine]
            cgroup_manager = "cgroupfs"
            events_logger = "none"
            runtime = "runc"
            tmp_dir = "{Path.Combine(Directory, "tmp")}"
            volume_path = "{Path.Combine(Directory, "volumes")}"
            static_dir = "{Path.Combine(Directory, "root", "libpod")}"

            [engine.runtimes]
            runc = ["{Runtime}"]
            """);
        File.WriteAllText(StorageConf, $"""
            [storage]
            driver = "vfs"
            graphroot = "{Path.Combine(Directory, "root")}"
            runroot = "{Path.Combine(Directory, "runroot")}"
            """);
    }

    /// <summary>A root file system of busybox-static and its applet links, as a tar, imported as <see cref="Image"/>.</summary>
    private void ImportImage()
    {
        string tar = Path.Combine(Directory, "busybox.tar");
        using (FileStream stream = File.Create(tar))
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax))
        {
            foreach (string dir in (string[])["bin/", "etc/", "tmp/"])
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, dir) { Mode = dir == "tmp/" ? (UnixFileMode)0b1_111_111_111 : (UnixFileMode)0b111_101_101 });
            }

            using (FileStream busybox = File.OpenRead(Busybox))
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { DataStream = busybox, Mode = (UnixFileMode)0b111_101_101 });
            }

            foreach (string applet in Applets)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox", Mode = (UnixFileMode)0b111_111_111 });
            }
        }

        Podman("import", tar, Image).EnsureSuccess();
    }
}
