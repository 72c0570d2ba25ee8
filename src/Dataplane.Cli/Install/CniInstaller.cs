using System.Text;

namespace Dataplane.Cli.Install;

/// <summary>
/// Puts dataplane-cni and its conflist where the node's container runtime finds them. The kubelet starts pods while
/// this runs (and while a DaemonSet update runs it again), so neither file is ever seen half-written: each is written
/// to a hidden temporary file in the same directory, given its mode, flushed to disk and renamed over the old one.
/// rename(2) is atomic, and a runtime executing the old binary keeps its inode (no ETXTBSY, no torn file).
/// The binary goes first: a runtime treats the network as ready once a conflist appears, and would fail pods on a
/// plugin it cannot find.
/// </summary>
internal static class CniInstaller
{
    public const string PluginFileName = "dataplane-cni";

    /// <summary>Executable by the runtime, writable only by root.</summary>
    public const UnixFileMode BinaryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Readable by every runtime and tool (crictl, cnitool), writable only by root.</summary>
    public const UnixFileMode ConfigMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>What libcni (containerd, CRI-O) loads from a conf dir; it takes the first by byte order.</summary>
    private static readonly string[] s_configExtensions = [".conf", ".conflist", ".json"];

    /// <summary>
    /// Installs <paramref name="cniBinary"/> as BIN/dataplane-cni (0755) and the conflist as CONF/10-dataplane.conflist
    /// (0644). Both directories must exist: a mistyped one would otherwise be created and silently never read. Returns
    /// the network configurations that sort before ours, which a runtime would use instead. Throws
    /// <see cref="CniInstallException"/> naming the file and the problem; a failed step leaves no temporary file.
    /// </summary>
    public static CniInstallResult Install(CniConflist conflist, string cniBinary, string binDir, string confDir)
    {
        if (!File.Exists(cniBinary))
        {
            throw new CniInstallException(Directory.Exists(cniBinary)
                ? $"CNI plugin binary {cniBinary} is a directory, not the dataplane-cni executable"
                : $"CNI plugin binary {cniBinary} not found (publish src/Dataplane.Cni and pass --cni-binary PATH)");
        }

        RequireDirectory(binDir, "CNI bin dir");
        RequireDirectory(confDir, "CNI conf dir");

        string binary = Path.Combine(binDir, PluginFileName);
        string config = Path.Combine(confDir, CniConflist.FileName);
        using (FileStream source = OpenSource(cniBinary))
        {
            Replace(binary, BinaryMode, source.CopyTo);
        }

        byte[] text = Encoding.UTF8.GetBytes(conflist.ToJson());
        Replace(config, ConfigMode, target => target.Write(text));
        return new CniInstallResult(binary, config, ConfigsBefore(confDir, CniConflist.FileName));
    }

    /// <summary>
    /// Writes <paramref name="path"/> through a temporary file beside it and a rename, so readers see the old file or
    /// the whole new one. The flush to disk comes before the rename: after a crash the name never points at a file
    /// whose data was still in the page cache (ext4 and xfs may otherwise leave it empty).
    /// </summary>
    private static void Replace(string path, UnixFileMode mode, Action<FileStream> fill)
    {
        string directory = Path.GetDirectoryName(path)!;
        // Hidden and ending in .tmp, so no runtime loads it as a network config while it is being written.
        string temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Path.GetRandomFileName()}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                fill(stream);
                stream.Flush(flushToDisk: true);
            }

            // chmod, not the create mode: the create mode is masked by the umask.
            File.SetUnixFileMode(temp, mode);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new CniInstallException($"cannot install {path}: {Reason(ex)}", ex);
        }
    }

    /// <summary>Network configurations in <paramref name="confDir"/> that a runtime would pick before <paramref name="ours"/>.</summary>
    public static IReadOnlyList<string> ConfigsBefore(string confDir, string ours) =>
        [.. Directory.EnumerateFiles(confDir)
            .Select(Path.GetFileName)
            .Where(name => s_configExtensions.Contains(Path.GetExtension(name)) && string.CompareOrdinal(name, ours) < 0)
            .Order(StringComparer.Ordinal)!];

    private static FileStream OpenSource(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CniInstallException($"cannot read CNI plugin binary {path}: {Reason(ex)}", ex);
        }
    }

    private static void RequireDirectory(string path, string what)
    {
        if (!Directory.Exists(path))
        {
            throw new CniInstallException(File.Exists(path) ? $"{what} {path} is a file, not a directory" : $"{what} {path} does not exist");
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The directory refused the write in the first place; there is nothing to delete.
        }
    }

    /// <summary>
    /// The errno's meaning, not .NET's sentence around it ("Access to the path '...' is denied." names the temporary
    /// file, which the user never asked for).
    /// </summary>
    private static string Reason(Exception ex) => ex switch
    {
        UnauthorizedAccessException => "permission denied",
        _ => ex.Message.ReplaceLineEndings(" "),
    };
}

/// <summary>Where the plugin and its conflist went, and the configurations that sort before it.</summary>
internal sealed record CniInstallResult(string Binary, string Config, IReadOnlyList<string> ConfigsBefore);
