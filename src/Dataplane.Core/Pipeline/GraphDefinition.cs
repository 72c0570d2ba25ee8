namespace Dataplane.Pipeline;

/// <summary>
/// The stage graph, declared once: which stages exist and how each is built from <typeparamref name="TContext"/>
/// (the tables and settings it needs). The edges come from each stage's <c>Next</c> enum
/// (<see cref="StageInfo"/>); the run order is computed from them (topological, ties in declaration order), and
/// a missing stage, a duplicate or a cycle is an error naming the stages involved. Variants (a benchmark without
/// conntrack) are transforms of the definition, never copied lists. Immutable: every transform returns a new one.
/// </summary>
public sealed class GraphDefinition<TContext>
{
    private readonly Entry[] _entries;
    private readonly Dictionary<string, string> _bypassed;
    private readonly Lazy<Plan> _plan;

    public GraphDefinition()
        : this([], new Dictionary<string, string>(StringComparer.Ordinal))
    {
    }

    private GraphDefinition(Entry[] entries, Dictionary<string, string> bypassed)
    {
        _entries = entries;
        _bypassed = bypassed;
        _plan = new Lazy<Plan>(Resolve);
    }

    /// <summary>Stages in run order: a stage only sends to stages after it. Throws if the definition is broken.</summary>
    public IReadOnlyList<StageInfo> Stages => _plan.Value.Stages;

    /// <summary>Stage names in run order.</summary>
    public IReadOnlyList<string> Order => _plan.Value.Names;

    /// <summary>
    /// The stages <paramref name="stage"/> sends to, by its <c>Next</c> enum, after bypasses
    /// (so without conntrack, source-guard's "conntrack" edge reads "bridge").
    /// </summary>
    public IReadOnlyList<string> NextOf(string stage)
    {
        Plan plan = _plan.Value;
        int index = Array.IndexOf(plan.Names, stage);
        if (index < 0)
        {
            throw new ArgumentException($"no stage '{stage}' in the graph", nameof(stage));
        }

        return Array.ConvertAll(plan.Edges[index], e => plan.Names[e]);
    }

    /// <summary>Adds a stage built by <paramref name="create"/>. Its name, edges and counters come from <typeparamref name="TStage"/>.</summary>
    public GraphDefinition<TContext> Stage<TStage>(Func<TContext, TStage> create)
        where TStage : Node
        => new([.. _entries, new Entry(StageInfo.Of(typeof(TStage)), context => create(context))], _bypassed);

    /// <summary>
    /// The graph without the stage whose <c>Next</c> enum declares <paramref name="via"/>: packets that stage
    /// would have received go straight to <paramref name="via"/> instead (benchmarks measure a graph without
    /// conntrack as <c>Bypass(Conntrack.Next.Bridge)</c>).
    /// </summary>
    public GraphDefinition<TContext> Bypass<TNext>(TNext via)
        where TNext : struct, Enum
    {
        Entry[] owners = Array.FindAll(_entries, e => e.Info.NextType == typeof(TNext));
        if (owners.Length != 1)
        {
            throw new ArgumentException($"{owners.Length} stages declare {typeof(TNext).FullName}; bypass needs exactly one", nameof(via));
        }

        StageInfo bypassed = owners[0].Info;
        var redirects = new Dictionary<string, string>(_bypassed, StringComparer.Ordinal)
        {
            [bypassed.Name] = StageInfo.KebabCase(via.ToString()),
        };
        return new([.. Array.FindAll(_entries, e => e.Info != bypassed)], redirects);
    }

    /// <summary>Builds one worker's graph: fresh stages (their own counters) over what <paramref name="context"/> shares.</summary>
    public Graph Build(TContext context, PacketBatch batch, PortTable ports, PacketTracer? tracer = null)
    {
        Plan plan = _plan.Value;
        var nodes = new Node[plan.Stages.Length];
        for (int i = 0; i < nodes.Length; i++)
        {
            Node node = _entries[plan.EntryOf[i]].Create(context);
            if (node.GetType() != plan.Stages[i].Type)
            {
                throw new InvalidOperationException($"the factory of '{plan.Names[i]}' built a {node.GetType().Name}, not a {plan.Stages[i].Type.Name}");
            }

            nodes[i] = node;
        }

        return new Graph(nodes, plan.Edges, batch, ports, tracer);
    }

    private Plan Resolve()
    {
        int count = _entries.Length;
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            if (!byName.TryAdd(_entries[i].Info.Name, i))
            {
                throw new InvalidOperationException($"two stages are named '{_entries[i].Info.Name}'");
            }
        }

        // Edges by declaration index, bypasses followed.
        var edges = new int[count][];
        var incoming = new int[count];
        for (int i = 0; i < count; i++)
        {
            StageInfo info = _entries[i].Info;
            edges[i] = new int[info.Next.Count];
            for (int n = 0; n < info.Next.Count; n++)
            {
                string target = info.Next[n];
                for (int hops = 0; _bypassed.TryGetValue(target, out string? via); hops++)
                {
                    if (hops > _bypassed.Count)
                    {
                        throw new InvalidOperationException($"bypasses loop at '{target}'");
                    }

                    target = via;
                }

                if (!byName.TryGetValue(target, out edges[i][n]))
                {
                    throw new InvalidOperationException(
                        $"stage '{info.Name}' sends to '{target}' ({info.NextType.Name}.{Enum.GetName(info.NextType, n)}), which is not in the graph");
                }

                incoming[edges[i][n]]++;
            }
        }

        // Kahn's algorithm; among ready stages the earliest declared runs first, so the order is stable.
        var order = new int[count];
        var placed = new bool[count];
        for (int slot = 0; slot < count; slot++)
        {
            int next = -1;
            for (int i = 0; i < count && next < 0; i++)
            {
                if (!placed[i] && incoming[i] == 0)
                {
                    next = i;
                }
            }

            if (next < 0)
            {
                throw new InvalidOperationException($"the stages {string.Join(", ", Cycle(edges, placed))} form a cycle; a stage may only send to stages after it");
            }

            placed[next] = true;
            order[slot] = next;
            foreach (int target in edges[next])
            {
                incoming[target]--;
            }
        }

        var position = new int[count];
        for (int slot = 0; slot < count; slot++)
        {
            position[order[slot]] = slot;
        }

        return new Plan(
            Array.ConvertAll(order, i => _entries[i].Info),
            Array.ConvertAll(order, i => _entries[i].Info.Name),
            Array.ConvertAll(order, i => Array.ConvertAll(edges[i], e => position[e])),
            order);
    }

    /// <summary>The unplaced stages on a cycle: those left once stages that send only to placed or removed ones are peeled off.</summary>
    private IEnumerable<string> Cycle(int[][] edges, bool[] placed)
    {
        bool[] gone = [.. placed];
        for (bool peeled = true; peeled;)
        {
            peeled = false;
            for (int i = 0; i < gone.Length; i++)
            {
                if (!gone[i] && Array.TrueForAll(edges[i], e => gone[e]))
                {
                    gone[i] = peeled = true;
                }
            }
        }

        return Enumerable.Range(0, gone.Length).Where(i => !gone[i]).Select(i => _entries[i].Info.Name);
    }

    private sealed record Entry(StageInfo Info, Func<TContext, Node> Create);

    /// <summary>The resolved graph: stages in run order, and each one's edges as run-order positions.</summary>
    private sealed record Plan(StageInfo[] Stages, string[] Names, int[][] Edges, int[] EntryOf);
}
