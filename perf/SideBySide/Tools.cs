namespace Dataplane.SideBySide;

/// <summary>Where the programs under test are: native/ (tapcopy, connrate) and the Release build of `dataplane`.</summary>
internal sealed record Tools(string Root)
{
    /// <summary>Programs the run needs on PATH (scripts/setup.sh installs them).</summary>
    public static readonly string[] Required = ["ip", "iptables", "sysctl", "ping", "iperf3", "sockperf", "trafgen", "make", "cc"];

    public string TapCopy => Path.Combine(Root, "native", "tapcopy");

    public string ConnRate => Path.Combine(Root, "native", "connrate");

    public string DataplaneDll => Path.Combine(Root, "src", "Dataplane.Cli", "bin", "Release", "net10.0", "dataplane.dll");

    /// <summary>Builds what is measured: `make -C native` and `dataplane` in Release (quick when up to date).</summary>
    public void Build()
    {
        Shell.Run(["make", "-s", "-C", Path.Combine(Root, "native")], TimeSpan.FromMinutes(2));
        Shell.Run(["dotnet", "build", Path.Combine(Root, "src", "Dataplane.Cli"), "-c", "Release", "-v", "quiet", "-nologo"], TimeSpan.FromMinutes(10));
    }
}
