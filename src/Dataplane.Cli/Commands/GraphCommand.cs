using System.CommandLine;
using Dataplane.Pipeline;

namespace Dataplane.Cli.Commands;

/// <summary>
/// `dataplane graph`: the stage graph every worker runs, from its one definition (<see cref="StageGraph"/>), like
/// VPP's `show vlib graph`: each stage in run order, its next stages, the stages feeding it, and how many drop
/// reasons and events it counts. `--dot` prints Graphviz instead. Needs no config: the graph is the same on every node.
/// </summary>
internal static class GraphCommand
{
    public static Command Create()
    {
        var dot = new Option<bool>("--dot") { Description = "Print Graphviz dot (pipe to `dot -Tsvg`)." };
        var command = new Command("graph", "Print the stage graph: each stage, its next stages and how many drop reasons it counts.")
        {
            dot,
        };
        command.SetAction(parse =>
        {
            Console.Out.Write(parse.GetValue(dot) ? GraphFormatter.Dot(StageGraph.Definition) : GraphFormatter.Text(StageGraph.Definition));
            return 0;
        });
        return command;
    }
}
