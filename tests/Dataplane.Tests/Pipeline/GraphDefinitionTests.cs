using Dataplane.Nodes;
using Dataplane.Pipeline;

namespace Dataplane.Tests.Pipeline;

/// <summary>
/// The stage graph is declared once (<see cref="StageGraph"/>) and every other view of it is derived: the run
/// order, each worker's graph, the benchmark variants, `dataplane graph` and the README's diagram. A broken
/// definition (an edge to a missing stage, a cycle, two stages of one name) fails with the stages named.
/// </summary>
[Trait("Category", "unit")]
public sealed class GraphDefinitionTests
{
    [Fact]
    public void Run_order_is_computed_from_the_edges_and_every_stage_sends_only_forward()
    {
        GraphDefinition<StageContext> graph = StageGraph.Definition;
        Assert.Equal(
            ["ethernet-input", "vxlan-input", "arp-input", "ip4-input", "ip6-input", "source-guard", "arp", "ndp", "conntrack", "bridge", "ip4-lookup",
             "ip6-lookup", "ip-local", "vxlan-encap", "icmp-error", "icmp-error-nat", "neighbor-probe", "interface-output"],
            graph.Order);
        Assert.Equal(graph.Order, NodeDataplane.StageOrder);
        var order = graph.Order.ToList();
        foreach (string stage in order)
        {
            Assert.All(graph.NextOf(stage), next => Assert.True(order.IndexOf(next) > order.IndexOf(stage), $"{stage} -> {next}"));
        }
    }

    [Fact]
    public void Every_stage_in_the_nodes_folder_is_in_the_graph()
    {
        Type[] stages = [.. typeof(Node).Assembly.GetTypes().Where(static t => t.Namespace == "Dataplane.Nodes" && !t.IsAbstract && t.IsSubclassOf(typeof(Node)))];
        Assert.Equal(stages.Select(static t => t.Name).Order(), StageGraph.Definition.Stages.Select(static s => s.Type.Name).Order());
    }

    [Fact]
    public void Edges_are_the_members_of_each_stages_next_enum()
    {
        Assert.Equal(["bridge", "icmp-error"], StageGraph.Definition.NextOf("conntrack"));
        Assert.Equal(["arp", "ndp", "conntrack"], StageGraph.Definition.NextOf("source-guard"));
        Assert.Equal(["interface-output", "icmp-error-nat"], StageGraph.Definition.NextOf("icmp-error"));
        Assert.Equal(["ip-local", "icmp-error", "interface-output", "vxlan-encap"], StageGraph.Definition.NextOf("ip4-lookup"));
        Assert.Equal(["ip4-input", "ip6-input"], StageGraph.Definition.NextOf("vxlan-input"));
        Assert.Equal(["icmp-error", "interface-output"], StageGraph.Definition.NextOf("vxlan-encap"));
        Assert.Empty(StageGraph.Definition.NextOf("interface-output"));
    }

    [Fact]
    public void A_workers_graph_agrees_with_the_definition()
    {
        var dataplane = new NodeDataplane(TestNode.Config());
        Graph graph = dataplane.CreateGraph(new PacketBatch(4));
        Assert.Equal(StageGraph.Definition.Order, graph.Nodes.Select(static n => n.Name));
        foreach (Node node in graph.Nodes)
        {
            Assert.Equal(StageGraph.Definition.NextOf(node.Name), node.NextIndex.ToArray().Select(i => graph.Nodes[i].Name));
            Assert.Equal(node.Index, graph.Nodes.ToList().IndexOf(node));
        }
    }

    [Fact]
    public void Bypassing_conntrack_sends_what_it_would_have_received_to_the_bridge()
    {
        GraphDefinition<StageContext> without = StageGraph.Definition.Bypass(Dataplane.Nodes.Conntrack.Next.Bridge);
        Assert.DoesNotContain("conntrack", without.Order);
        Assert.Equal(["arp", "ndp", "bridge"], without.NextOf("source-guard"));
        Assert.Equal(StageGraph.Definition.Order.Where(static s => s != "conntrack"), without.Order);

        var dataplane = new NodeDataplane(TestNode.Config());
        Graph graph = without.Build(new StageContext(dataplane), new PacketBatch(4), dataplane.Ports);
        Assert.DoesNotContain(graph.Nodes, static n => n is Dataplane.Nodes.Conntrack);
        Assert.Contains("conntrack", StageGraph.Definition.Order);
    }

    [Fact]
    public void Bypass_needs_the_stage_declaring_the_enum()
    {
        var error = Assert.Throws<ArgumentException>(() => new GraphDefinition<object>().Stage(static _ => new A()).Bypass(C.Next.A));
        Assert.Contains("0 stages declare", error.Message);
    }

    [Fact]
    public void An_edge_to_a_stage_not_in_the_graph_fails_naming_both()
    {
        GraphDefinition<object> graph = new GraphDefinition<object>().Stage(static _ => new A()).Stage(static _ => new B());
        var error = Assert.Throws<InvalidOperationException>(() => graph.Order);
        Assert.Contains("stage 'b' sends to 'c' (Next.C), which is not in the graph", error.Message);
    }

    [Fact]
    public void A_cycle_fails_naming_its_stages()
    {
        GraphDefinition<object> graph = new GraphDefinition<object>().Stage(static _ => new A()).Stage(static _ => new B()).Stage(static _ => new C());
        var error = Assert.Throws<InvalidOperationException>(() => graph.Order);
        Assert.Contains("the stages b, c form a cycle", error.Message);
    }

    [Fact]
    public void Two_stages_of_one_name_fail()
    {
        GraphDefinition<object> graph = new GraphDefinition<object>().Stage(static _ => new A()).Stage(static _ => new A());
        Assert.Contains("two stages are named 'a'", Assert.Throws<InvalidOperationException>(() => graph.Order).Message);
    }

    [Fact]
    public void Order_does_not_depend_on_declaration_order_but_on_edges()
    {
        // d sends to a: a runs after d whatever the declaration says.
        GraphDefinition<object> graph = new GraphDefinition<object>().Stage(static _ => new A()).Stage(static _ => new D());
        Assert.Equal(["d", "a"], graph.Order);
    }

    [Fact]
    public void A_stage_declares_its_edges_with_a_typed_node()
    {
        var error = Assert.Throws<ArgumentException>(() => new GraphDefinition<object>().Stage<Node>(static _ => new A()));
        Assert.Contains("is not a Node<TNext, TDrop, TEvent>", error.Message);
    }

    [Fact]
    public void Graph_command_text_lists_every_stage_with_its_next_stages_and_drop_reason_count()
    {
        string text = GraphFormatter.Text(StageGraph.Definition);
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Name", lines[0]);
        foreach (StageInfo stage in StageGraph.Definition.Stages)
        {
            string row = Assert.Single(lines, l => l.StartsWith(stage.Name + " ", StringComparison.Ordinal));
            Assert.EndsWith($"{stage.DropReasons.Count,5}{stage.Events.Count,8}", row);
            IReadOnlyList<string> next = StageGraph.Definition.NextOf(stage.Name);
            for (int n = 0; n < next.Count; n++)
            {
                Assert.Contains($"{next[n]} [{n}]", text);
            }
        }

        Assert.Matches(@"(?m)^conntrack\s+bridge \[0\]\s+source-guard\s+10\s+12$", text);
        Assert.Matches(@"(?m)^\s+icmp-error \[1\]\s*$", text);
    }

    [Fact]
    public void Graph_command_dot_has_one_edge_per_next_member()
    {
        string dot = GraphFormatter.Dot(StageGraph.Definition);
        Assert.StartsWith("digraph dataplane {", dot);
        Assert.Contains("\"source-guard\" -> \"conntrack\" [label=\"Conntrack\"];", dot);
        Assert.Contains("\"neighbor-probe\" -> \"interface-output\" [label=\"InterfaceOutput\"];", dot);
        int edges = StageGraph.Definition.Stages.Sum(static s => s.Next.Count);
        Assert.Equal(edges, dot.Split('\n').Count(static l => l.Contains("->", StringComparison.Ordinal)));
    }

    [Fact]
    public void Readme_diagram_matches_the_definition()
    {
        List<List<string[]>> chains = ReadmeDiagram();
        GraphDefinition<StageContext> graph = StageGraph.Definition;
        var named = chains.SelectMany(static c => c).SelectMany(static l => l).ToHashSet();
        Assert.Equal(graph.Order.Order(), named.Order());

        foreach (List<string[]> chain in chains)
        {
            for (int layer = 0; layer + 1 < chain.Count; layer++)
            {
                string[] from = chain[layer], to = chain[layer + 1];
                Assert.All(to, t => Assert.True(from.Any(f => graph.NextOf(f).Contains(t)), $"README: no stage of {string.Join(" | ", from)} sends to {t}"));
                Assert.All(from, f => Assert.True(to.Any(t => graph.NextOf(f).Contains(t)), $"README: {f} sends to none of {string.Join(" | ", to)}"));
            }
        }

        // Every edge of the definition runs forward in some chain of the diagram.
        foreach (string stage in graph.Order)
        {
            foreach (string next in graph.NextOf(stage))
            {
                Assert.True(
                    chains.Any(c => Layer(c, stage) is int a && Layer(c, next) is int b && a < b),
                    $"README: the edge {stage} -> {next} runs against the diagram");
            }
        }

        static int? Layer(List<string[]> chain, string stage)
        {
            int i = chain.FindIndex(l => l.Contains(stage));
            return i < 0 ? null : i;
        }
    }

    /// <summary>
    /// The block under "How it is built" that starts with `ethernet-input ->`: chains of layers joined by "->",
    /// alternatives in a layer split by "|"; an indented line starting with "->" continues the chain above.
    /// </summary>
    private static List<List<string[]>> ReadmeDiagram()
    {
        string[] lines = File.ReadAllLines(Path.Combine(RepositoryRoot(), "README.md"));
        int start = Array.FindIndex(lines, static l => l.TrimStart().StartsWith("ethernet-input ->", StringComparison.Ordinal));
        Assert.True(start >= 0, "README.md has no diagram starting with `ethernet-input ->`");
        var chains = new List<List<string[]>>();
        for (int i = start; i < lines.Length && lines[i].StartsWith("    ", StringComparison.Ordinal); i++)
        {
            string line = lines[i].Trim();
            bool continues = line.StartsWith("->", StringComparison.Ordinal);
            if (!continues)
            {
                chains.Add([]);
            }

            string[] layers = line.Split("->", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            chains[^1].AddRange(layers.Select(static l => l.Split('|', StringSplitOptions.TrimEntries)));
        }

        return chains;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dataplane.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Dataplane.sln above {AppContext.BaseDirectory}");
    }

    private abstract class TestStage<TNext> : Node<TNext, None, None>
        where TNext : struct, Enum
    {
        public override void Process<TTrace>(Graph graph, ReadOnlySpan<ushort> packets)
        {
        }
    }

    /// <summary>Sends nowhere.</summary>
    private sealed class A : TestStage<None>;

    /// <summary>Sends to c.</summary>
    private sealed class B : TestStage<B.Next>
    {
        public enum Next
        {
            C,
        }
    }

    /// <summary>Sends to a and b: with <see cref="B"/>, a cycle (a is downstream of it, not part of it).</summary>
    private sealed class C : TestStage<C.Next>
    {
        public enum Next
        {
            A,
            B,
        }
    }

    /// <summary>Sends to a.</summary>
    private sealed class D : TestStage<D.Next>
    {
        public enum Next
        {
            A,
        }
    }
}
