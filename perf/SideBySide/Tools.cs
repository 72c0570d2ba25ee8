namespace Dataplane.SideBySide;

/// <summary>Where the programs under test are: native/ (tapcopy, connrate) and the Release build of `dataplane`.</summary>
internal sealed record Tools(string Root)
{
    /// <summary>Programs the run needs on PATH (scripts/setup.sh installs them).</summary>
    public static readonly string[] Required = ["ip", "iptables", "sysctl", "ping", "iperf3", "sockperf", "trafgen", "make", "cc"];

    public string TapCopy => Path.Combine(Root, "native", "tapcopy");

    public string ConnRate => Path.Combine(Root, "native", "connrate");

    public string DataplaneDll => Path.Combine(Root, "src", "Dataplane.Cli", "bin", "Release", "net10.0", "dataplane.dll");

    /// <summary>The repository root: the nearest folder holding Dataplane.sln, from the working directory or this tool's own.</summary>
    public static Tools Find()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Dataplane.sln")))
                {
                    return new Tools(dir.FullName);
                }
            }
        }

        throw new InvalidOperationException("run from inside the repository: no Dataplane.sln above the working directory");
    }

    public static IEnumerable<string> Missing() =>
        Required.Where(tool => !Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(dir => File.Exists(Path.Combine(dir, tool))));

    /// <summary>Builds what is measured: `make -C native` and `dataplane` in Release (quick when up to date).</summary>
    public void Build()
    {
        Shell.Run(["make", "-s", "-C", Path.Combine(Root, "native")], TimeSpan.FromMinutes(2));
        Shell.Run(["dotnet", "build", Path.Combine(Root, "src", "Dataplane.Cli"), "-c", "Release", "-v", "quiet", "-nologo"], TimeSpan.FromMinutes(10));
    }
}
