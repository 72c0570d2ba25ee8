using System.CommandLine;
using Dataplane.Config;
using Dataplane.Model;

namespace Dataplane.Cli.Commands;

/// <summary>The `--config node.yaml` option and its loading: every config error printed with file:line:col, exit code 2.</summary>
internal static class ConfigOption
{
    public const int ExitConfigError = 2;

    public static Option<FileInfo> Create() => new("--config", "-c")
    {
        Description = "Node configuration (YAML): node, pods, routes, services, conntrack.",
        Required = true,
    };

    public static NodeConfig? Load(FileInfo file, TextWriter error) => Load(file, cluster: null, error);

    /// <summary>The file (optional in a cluster) with what it leaves out of the node taken from <paramref name="cluster"/>.</summary>
    public static NodeConfig? Load(FileInfo? file, ClusterNodeIdentity? cluster, TextWriter error)
    {
        ConfigResult result = NodeConfigLoader.Load(file?.FullName, cluster);
        if (result.IsValid)
        {
            return result.Config;
        }

        foreach (ConfigError e in result.Errors)
        {
            error.WriteLine(e);
        }

        error.WriteLine($"{file?.FullName ?? result.Errors[0].File}: {result.Errors.Count} configuration error(s); nothing was started");
        return null;
    }
}
