namespace Dataplane.Tests.Infrastructure;

/// <summary>
/// Our CNI plugin, `dataplane-cni` (src/Dataplane.Cni, NativeAOT), published once per test run with
/// `dotnet publish src/Dataplane.Cni -c Release -o DIR` into the test output. Every test that runs the plugin goes
/// through <see cref="Publish"/>: until the project exists they fail, saying so.
/// </summary>
public static class CniPluginBuild
{
    public const string PluginName = "dataplane-cni";

    public static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(15);

    private static readonly Lazy<string> s_directory = new(PublishNow);

    public static string ProjectDirectory => Repository.PathOf("src", "Dataplane.Cni");

    /// <summary>The directory holding the published <c>dataplane-cni</c> (a CNI bin dir); publishes on first use.</summary>
    public static string Publish() => s_directory.Value;

    /// <summary>The plugin's path after <see cref="Publish"/>.</summary>
    public static string Executable => Path.Combine(Publish(), PluginName);

    private static string PublishNow()
    {
        if (!Directory.Exists(ProjectDirectory))
        {
            throw new InvalidOperationException(
                $"the CNI plugin project {ProjectDirectory} does not exist yet: these tests drive `{PluginName}` through real runtimes and run once it lands");
        }

        string output = Path.Combine(AppContext.BaseDirectory, "cni-plugin");
        ProcessResult result = ProcessRunner.Run(PublishTimeout, "dotnet", "publish", ProjectDirectory, "-c", "Release", "-o", output, "-nologo", "-v", "quiet");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{result.Command}` exited with {result.ExitCode}:{Environment.NewLine}{result.StdOut}{result.StdErr}");
        }

        string plugin = Path.Combine(output, PluginName);
        return File.Exists(plugin)
            ? output
            : throw new InvalidOperationException($"`{result.Command}` succeeded but left no {plugin} (the project's AssemblyName must be {PluginName})");
    }
}
