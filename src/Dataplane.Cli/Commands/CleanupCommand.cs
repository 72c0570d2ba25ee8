using System.CommandLine;
using Dataplane.Daemon.State;
using Dataplane.Model;

namespace Dataplane.Cli.Commands;

/// <summary>
/// `dataplane cleanup`: removes every TAP and namespace a node's daemons made (as their record lists them; a namespace
/// with a process inside is kept), conntrack's file and the record. A stopped daemon leaves all of that in place on
/// purpose, so that its next start loses no pod and no flow; this is the explicit clean slate.
/// </summary>
internal static class CleanupCommand
{
    public static Command Create()
    {
        var node = new Option<string?>("--node") { Description = "The node's name (node.name): its state is /run/dataplane/NAME unless --config says otherwise." };
        var config = new Option<FileInfo?>("--config", "-c") { Description = "The node's node.yaml: its name, dataplane.stateDirectory and dataplane.controlSocket." };
        var command = new Command("cleanup", "Remove what a node's daemons made (pods' TAPs, created namespaces, conntrack's file); refused while the node's daemon runs.")
        {
            node, config,
        };
        command.SetAction(parse =>
        {
            if (!Environment.IsPrivilegedProcess)
            {
                Console.Error.WriteLine("dataplane cleanup: needs root (it removes TAP devices and network namespaces)");
                return 1;
            }

            string? name = parse.GetValue(node);
            DataplaneSettings settings = DataplaneSettings.Default;
            if (parse.GetValue(config) is { } file)
            {
                NodeConfig? loaded = ConfigOption.Load(file, Console.Error);
                if (loaded is null)
                {
                    return ConfigOption.ExitConfigError;
                }

                if (name is not null && name != loaded.Node.Name)
                {
                    Console.Error.WriteLine($"dataplane cleanup: --node {name} is not the node {file.FullName} describes ({loaded.Node.Name})");
                    return ConfigOption.ExitConfigError;
                }

                name = loaded.Node.Name;
                settings = loaded.Dataplane;
            }

            if (name is null)
            {
                Console.Error.WriteLine("dataplane cleanup: say which node: --node NAME or --config node.yaml");
                return ConfigOption.ExitConfigError;
            }

            // The name becomes part of paths: only what node.name accepts (a DNS subdomain), never "..", never a "/".
            if (name.Length is 0 or > 253 || !name.All(static c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')
                || name[0] is '-' or '.' || name[^1] is '-' or '.' || name.Contains("..", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"dataplane cleanup: --node '{name}' is not a node name (lower-case letters, digits, '-' and '.', as node.name)");
                return ConfigOption.ExitConfigError;
            }

            string stateDirectory = NodeConfig.ExpandControlSocket(settings.StateDirectory, name);
            string lockPath = NodeConfig.ExpandControlSocket(settings.ControlSocket, name) + ".lock";
            CleanupResult result;
            try
            {
                result = NodeCleanup.Run(name, stateDirectory, lockPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Console.Error.WriteLine($"dataplane cleanup: {ex.Message}");
                return 1;
            }

            if (result.Running)
            {
                Console.Error.WriteLine($"dataplane cleanup: a dataplane for node {name} is running (it holds {lockPath}); stop it first");
                return 1;
            }

            foreach (string line in result.Lines)
            {
                Console.WriteLine(line);
            }

            return 0;
        });
        return command;
    }
}
