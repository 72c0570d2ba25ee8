using Dataplane.CniDriver;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dataplane.CniLatency;

/// <summary>Where things are: the repository (tests/cni-driver, src/Dataplane.Cni, the dataplane CLI) and the tools the run needs.</summary>
internal sealed record Tools(string Root)
{
    public const string DebianPlugins = "/usr/lib/cni";
    public const string DebianGoPath = "/usr/share/gocode";

    /// <summary>Programs and files the run needs (scripts/setup.sh installs them).</summary>
    public static readonly string[] Required = ["ip", "go", "dotnet", $"{DebianPlugins}/bridge", $"{DebianPlugins}/host-local",
        $"{DebianGoPath}/src/github.com/containernetworking/cni/libcni/api.go"];

    public string DataplaneDll => Path.Combine(Root, "src", "Dataplane.Cli", "bin", "Release", "net10.0", "dataplane.dll");

    public string PluginProject => Path.Combine(Root, "src", "Dataplane.Cni");

    /// <summary>Builds tests/cni-driver (GOPATH mode against Debian's libcni, offline) into <paramref name="dir"/>.</summary>
    public string BuildDriver(string dir)
    {
        string output = Path.Combine(dir, "cni-driver");
        string gopath = Directory.CreateDirectory(Path.Combine(dir, "gopath")).FullName;
        try
        {
            Shell.Run(["env", "-C", Path.Combine(Root, "tests", "cni-driver"), "GO111MODULE=off", $"GOPATH={gopath}:{DebianGoPath}",
                $"GOCACHE={Path.Combine(gopath, "cache")}", "GOFLAGS=", "GOPROXY=off", "CGO_ENABLED=0", "go", "build", "-o", output, "."],
                TimeSpan.FromMinutes(5));
        }
        finally
        {
            Shell.Cleanup("chmod", "-R", "u+w", gopath);
            Directory.Delete(gopath, recursive: true);
        }

        return output;
    }

    /// <summary>`dotnet build` of the daemon's CLI in Release (quick when up to date).</summary>
    public void BuildDataplane() =>
        Shell.Run(["dotnet", "build", Path.Combine(Root, "src", "Dataplane.Cli"), "-c", "Release", "-v", "quiet", "-nologo"], TimeSpan.FromMinutes(10));

    /// <summary>`dotnet publish src/Dataplane.Cni -c Release -o DIR`; returns DIR (a CNI bin dir with dataplane-cni).</summary>
    public string PublishPlugin(string dir)
    {
        if (!Directory.Exists(PluginProject))
        {
            throw new InvalidOperationException($"{PluginProject} does not exist yet: the dataplane-cni path runs once the CNI plugin lands");
        }

        Shell.Run(["dotnet", "publish", PluginProject, "-c", "Release", "-o", dir, "-v", "quiet", "-nologo"], TimeSpan.FromMinutes(15));
        return File.Exists(Path.Combine(dir, "dataplane-cni"))
            ? dir
            : throw new InvalidOperationException($"publishing {PluginProject} left no {dir}/dataplane-cni");
    }
}

/// <summary>How one `cni-driver bench` runs.</summary>
internal sealed record BenchRun(string Prefix, int Count, int Parallel, bool ReadyPing, string? WatchNetns, string? WatchIp)
{
    public IEnumerable<string> Arguments()
    {
        List<string> args = ["--count", Invariant(Count), "--parallel", Invariant(Parallel), "--netns-prefix", Prefix, "--create-netns"];
        if (ReadyPing)
        {
            args.AddRange(["--ready-ping", "--ready-timeout", "120s"]);
        }

        if (WatchNetns is not null)
        {
            args.AddRange(["--watch-netns", WatchNetns, "--watch-ip", WatchIp!, "--watch-interval", "50ms"]);
        }

        return args;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Runs `cni-driver bench` and reads its report (tests/cni-driver/BenchReport.cs).</summary>
internal static class Bench
{
    /// <summary>Runs the driver (inside <paramref name="netns"/> when given) and parses its report; throws when it printed none.</summary>
    public static BenchReport Run(string driver, string? netns, IEnumerable<string> common, BenchRun run)
    {
        string[] argv = [.. netns is null ? Array.Empty<string>() : ["ip", "netns", "exec", netns], driver, "bench", .. common, .. run.Arguments()];
        (int exit, string stdout, string stderr) = Shell.Capture(argv, TimeSpan.FromMinutes(15));
        if (!stdout.TrimStart().StartsWith('{'))
        {
            throw new InvalidOperationException($"cni-driver bench exited {exit} without a report: {Shell.Tail(stderr + stdout)}");
        }

        return JsonSerializer.Deserialize<BenchReport>(stdout) ?? throw new InvalidOperationException("cni-driver bench printed null");
    }
}
