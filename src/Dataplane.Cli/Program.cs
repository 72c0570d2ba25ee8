using System.CommandLine;
using Dataplane.Cli.Commands;

var root = new RootCommand("A userspace Kubernetes node dataplane: bridging, routing, service load balancing and conntrack in one pipeline.")
{
    RunCommand.Create(),
    CtlCommand.Create(),
    ReplayCommand.Create(),
    DemoCommand.Create(),
    GraphCommand.Create(),
    PodServerCommand.Create(),
};

return root.Parse(args).Invoke();
