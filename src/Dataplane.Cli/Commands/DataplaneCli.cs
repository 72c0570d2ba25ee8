using System.CommandLine;

namespace Dataplane.Cli.Commands;

/// <summary>The `dataplane` command and its subcommands: what Program runs, and what tests parse manifests' arguments with.</summary>
internal static class DataplaneCli
{
    public static RootCommand Create() => new("A userspace Kubernetes node dataplane: bridging, routing, service load balancing and conntrack in one pipeline.")
    {
        RunCommand.Create(),
        CleanupCommand.Create(),
        CtlCommand.Create(),
        ReplayCommand.Create(),
        DemoCommand.Create(),
        GraphCommand.Create(),
        PodServerCommand.Create(),
        InstallCniCommand.Create(),
        IngressCommand.Create(),
    };
}
