using System.Globalization;
using System.Text;

namespace Dataplane.Pipeline;

/// <summary>
/// Prints a graph definition (`dataplane graph`): as text in the manner of VPP's `show vlib graph`, one row per
/// next stage with its index in the stage's <c>Next</c> enum, the stages that feed it, and how many drop reasons
/// and events it counts; or as Graphviz dot.
/// </summary>
public static class GraphFormatter
{
    public static string Text<TContext>(GraphDefinition<TContext> graph)
    {
        IReadOnlyList<StageInfo> stages = graph.Stages;
        Dictionary<string, List<string>> previous = Previous(graph);
        int nameWidth = Math.Max("Name".Length, stages.Max(static s => s.Name.Length)) + 2;
        int nextWidth = Math.Max("Next".Length, stages.Max(s => graph.NextOf(s.Name).Select(static (n, i) => n.Length + 4 + Digits(i)).DefaultIfEmpty(0).Max())) + 2;
        int previousWidth = Math.Max("Previous".Length, stages.Max(s => previous[s.Name].Select(static p => p.Length).DefaultIfEmpty(0).Max())) + 2;
        var text = new StringBuilder();
        Row(text, ["Name", "Next", "Previous", "Drops", "Events"], nameWidth, nextWidth, previousWidth);
        foreach (StageInfo stage in stages)
        {
            IReadOnlyList<string> next = graph.NextOf(stage.Name);
            List<string> from = previous[stage.Name];
            int rows = Math.Max(1, Math.Max(next.Count, from.Count));
            for (int r = 0; r < rows; r++)
            {
                Row(
                    text,
                    [
                        r == 0 ? stage.Name : "",
                        r < next.Count ? string.Create(CultureInfo.InvariantCulture, $"{next[r]} [{r}]") : "",
                        r < from.Count ? from[r] : "",
                        r == 0 ? stage.DropReasons.Count.ToString(CultureInfo.InvariantCulture) : "",
                        r == 0 ? stage.Events.Count.ToString(CultureInfo.InvariantCulture) : "",
                    ],
                    nameWidth,
                    nextWidth,
                    previousWidth);
            }
        }

        return text.ToString();
    }

    /// <summary>Graphviz: `dataplane graph --dot | dot -Tsvg > graph.svg`. Edges are labelled with the Next member.</summary>
    public static string Dot<TContext>(GraphDefinition<TContext> graph)
    {
        var text = new StringBuilder();
        text.AppendLine("digraph dataplane {");
        text.AppendLine("  rankdir=LR;");
        text.AppendLine("  node [shape=box, fontname=\"monospace\"];");
        foreach (StageInfo stage in graph.Stages)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  \"{stage.Name}\" [label=\"{stage.Name}\\n{stage.DropReasons.Count} drop reasons, {stage.Events.Count} events\"];");
            IReadOnlyList<string> next = graph.NextOf(stage.Name);
            for (int n = 0; n < next.Count; n++)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  \"{stage.Name}\" -> \"{next[n]}\" [label=\"{Enum.GetName(stage.NextType, n)}\"];");
            }
        }

        text.AppendLine("}");
        return text.ToString();
    }

    private static Dictionary<string, List<string>> Previous<TContext>(GraphDefinition<TContext> graph)
    {
        var previous = graph.Stages.ToDictionary(static s => s.Name, static _ => new List<string>(), StringComparer.Ordinal);
        foreach (StageInfo stage in graph.Stages)
        {
            foreach (string next in graph.NextOf(stage.Name).Distinct())
            {
                previous[next].Add(stage.Name);
            }
        }

        return previous;
    }

    private static int Digits(int i) => i.ToString(CultureInfo.InvariantCulture).Length;

    private static void Row(StringBuilder text, string[] cells, int nameWidth, int nextWidth, int previousWidth)
    {
        string row = cells[0].PadRight(nameWidth) + cells[1].PadRight(nextWidth) + cells[2].PadRight(previousWidth) + cells[3].PadLeft(5) + cells[4].PadLeft(8);
        text.Append(row.TrimEnd()).Append('\n');
    }
}
