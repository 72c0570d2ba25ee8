using k8s;
using k8s.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Kubernetes;

/// <summary>
/// Reads Services, EndpointSlices and Nodes (and for the ingress controller Ingresses, IngressClasses and Secrets) from
/// a file, as <c>kubectl get svc,endpointslices,nodes -A -o yaml</c> (or <c>-o json</c>) prints them: a <c>kind: List</c> whose <c>items</c> each carry their kind and apiVersion, or
/// objects one per YAML document (<c>---</c>), or a mix. Objects of other kinds are counted and passed over.
/// <para>
/// The file is read with YamlDotNet's representation model (JSON is YAML too), which keeps every node's line and
/// column, and each object is then deserialized alone with KubernetesClient's <see cref="KubernetesYaml"/>, which
/// knows the API's types (IntOrString, quantities, dates) but not <c>List</c>. So an object that does not fit its
/// type is reported at the value that does not fit, <c>path:line:col: problem</c>, and the other objects are still
/// read. Nothing here throws for what a file holds.
/// </para>
/// </summary>
public static class ObjectsFile
{
    /// <summary>The kinds read (the node's, then the ingress controller's) and the one API version each is read in.</summary>
    private static readonly Dictionary<string, string> s_kinds = new(StringComparer.Ordinal)
    {
        ["Service"] = "v1",
        ["EndpointSlice"] = "discovery.k8s.io/v1",
        ["Node"] = "v1",
        ["Ingress"] = "networking.k8s.io/v1",
        ["IngressClass"] = "networking.k8s.io/v1",
        ["Secret"] = "v1",
    };

    /// <summary>The kinds read that live outside namespaces.</summary>
    private static readonly HashSet<string> s_clusterScoped = new(StringComparer.Ordinal) { "Node", "IngressClass" };

    /// <summary>
    /// Nodes an object may expand to through YAML aliases before it is refused: kubectl writes none, and a file of
    /// aliases to aliases (the "billion laughs") would otherwise expand exponentially when deserialized.
    /// </summary>
    private const long MaxExpandedNodes = 1_000_000;

    /// <summary>Reads the file at <paramref name="path"/>; a file that cannot be read is one error naming the path.</summary>
    public static ObjectsFileResult Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string? problem = null;
        string text = "";
        if (Directory.Exists(path))
        {
            problem = "is a directory; expected a file such as `kubectl get svc,endpointslices,nodes -A -o yaml` writes";
        }
        else
        {
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                problem = "no such file";
            }
            catch (UnauthorizedAccessException)
            {
                problem = "permission denied";
            }
            catch (Exception e) when (e is IOException or NotSupportedException or ArgumentException)
            {
                problem = $"cannot read it: {e.Message}";
            }
        }

        return problem is null
            ? Parse(text, path)
            : new ObjectsFileResult(ClusterObjects.Empty, new Dictionary<string, int>(), [new ObjectsFileProblem(path, 0, 0, problem)], []);
    }

    /// <summary>Parses <paramref name="text"/>; <paramref name="sourceName"/> (a path, or a label) names it in problems.</summary>
    public static ObjectsFileResult Parse(string text, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        var reading = new Reading(sourceName);
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(text));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e)
        {
            // Some scanner errors carry no position (both marks at index 0); where the scanner stopped is then the best clue.
            reading.Error(e.Start.Index == 0 && e.End.Index == 0 ? scanner.CurrentPosition : e.Start, $"not YAML or JSON: {Message(e)}");
            return reading.Result();
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException)
        {
            // YamlDotNet's scanner fails this way on an unclosed flow collection ("{ name: web" then more keys).
            reading.Error(scanner.CurrentPosition, "not YAML or JSON: the parser could not continue here (an unclosed '[', '{' or quote above is the usual cause)");
            return reading.Result();
        }

        if (stream.Documents.Count == 0)
        {
            reading.Warning(null, "the file is empty: no objects");
        }

        foreach (YamlDocument document in stream.Documents)
        {
            if (document.RootNode is YamlScalarNode { Value: null or "" })
            {
                continue;   // an empty document ("---" with nothing after it)
            }

            if (AliasProblem(document.RootNode) is { } problem)
            {
                reading.Error(document.RootNode.Start, problem);
                continue;
            }

            reading.Document(document.RootNode);
        }

        return reading.Result();
    }

    /// <summary>One file's worth of objects and problems.</summary>
    private sealed class Reading(string source)
    {
        private readonly List<V1Service> _services = [];
        private readonly List<V1EndpointSlice> _slices = [];
        private readonly List<V1Node> _nodes = [];
        private readonly List<V1Ingress> _ingresses = [];
        private readonly List<V1IngressClass> _ingressClasses = [];
        private readonly List<V1Secret> _secrets = [];
        private readonly Dictionary<(string Kind, string Namespace, string Name), (int Index, Mark At)> _seen = [];
        private readonly SortedDictionary<string, int> _ignored = new(StringComparer.Ordinal);
        private readonly List<ObjectsFileProblem> _errors = [];
        private readonly List<ObjectsFileProblem> _warnings = [];

        /// <summary>A problem at <paramref name="at"/>; null when it concerns the whole file.</summary>
        public void Error(Mark? at, string problem) => _errors.Add(Problem(at, problem));

        public void Warning(Mark? at, string problem) => _warnings.Add(Problem(at, problem));

        public ObjectsFileResult Result()
            => new(new ClusterObjects(_services, _slices, _nodes) { Ingresses = _ingresses, IngressClasses = _ingressClasses, Secrets = _secrets },
                _ignored, Sorted(_errors), Sorted(_warnings));

        /// <summary>A document's root: one object, or a List of them.</summary>
        public void Document(YamlNode root)
        {
            if (root is not YamlMappingNode map)
            {
                Error(root.Start, $"expected a Kubernetes object or a List of them (a mapping with apiVersion and kind), found {Describe(root)}");
                return;
            }

            Object(map);
        }

        private void Object(YamlMappingNode map)
        {
            string? kind = Scalar(map, "kind");
            string? apiVersion = Scalar(map, "apiVersion");

            // `kubectl get` prints kind List; the API itself answers a list with ServiceList, NodeList, ...
            if (kind is not null && kind.EndsWith("List", StringComparison.Ordinal) && map.Children.TryGetValue(new YamlScalarNode("items"), out YamlNode? items))
            {
                if (items is YamlSequenceNode sequence)
                {
                    foreach (YamlNode item in sequence)
                    {
                        Document(item);
                    }
                }
                else if (items is not YamlScalarNode { Value: null or "" or "null" })
                {
                    Error(items.Start, $"a {kind}'s items must be a list of objects, found {Describe(items)}");
                }

                return;
            }

            if (kind is null)
            {
                Warning(map.Start, "an object without kind; left out");
                return;
            }

            if (!s_kinds.TryGetValue(kind, out string? version))
            {
                _ignored[kind] = _ignored.GetValueOrDefault(kind) + 1;
                return;
            }

            if (apiVersion is not null && apiVersion != version)
            {
                Warning(map.Start, $"{kind} {apiVersion} is not read (only {version}); left out");
                return;
            }

            switch (kind)
            {
                case "Service":
                    Add(map, kind, Deserialize<V1Service>(map, kind), _services, static s => s.Metadata);
                    break;
                case "EndpointSlice":
                    Add(map, kind, Deserialize<V1EndpointSlice>(map, kind), _slices, static s => s.Metadata);
                    break;
                case "Ingress":
                    Add(map, kind, Deserialize<V1Ingress>(map, kind), _ingresses, static i => i.Metadata);
                    break;
                case "IngressClass":
                    Add(map, kind, Deserialize<V1IngressClass>(map, kind), _ingressClasses, static c => c.Metadata);
                    break;
                case "Secret":
                    Add(map, kind, Deserialize<V1Secret>(map, kind), _secrets, static s => s.Metadata);
                    break;
                default:
                    Add(map, kind, Deserialize<V1Node>(map, kind), _nodes, static n => n.Metadata);
                    break;
            }
        }

        /// <summary>
        /// Adds a read object; a second object with the same kind, namespace and name (two dumps concatenated)
        /// replaces the first where it stood, as a later <c>kubectl apply</c> of it would.
        /// </summary>
        private void Add<T>(YamlMappingNode map, string kind, T? item, List<T> into, Func<T, V1ObjectMeta?> metadata)
            where T : class
        {
            if (item is null)
            {
                return;
            }

            V1ObjectMeta? meta = metadata(item);
            if (string.IsNullOrEmpty(meta?.Name))
            {
                Warning(map.Start, $"a {kind} without metadata.name; left out");
                return;
            }

            // Namespaced kinds written without a namespace are in the default one, as kubectl has it.
            bool clusterScoped = s_clusterScoped.Contains(kind);
            string ns = clusterScoped ? "" : ServiceTranslator.NamespaceOf(meta);
            if (!clusterScoped)
            {
                meta.NamespaceProperty = ns;
            }

            if (_seen.TryGetValue((kind, ns, meta.Name), out (int Index, Mark At) first))
            {
                Warning(map.Start, $"{kind} {(ns.Length > 0 ? ns + "/" : "")}{meta.Name} appears again (first at line {first.At.Line}); the later one is kept");
                into[first.Index] = item;
                return;
            }

            _seen[(kind, ns, meta.Name)] = (into.Count, map.Start);
            into.Add(item);
        }

        /// <summary>
        /// Deserializes one object alone: it is written back out as YAML and read by KubernetesYaml. A problem the
        /// deserializer finds is located in that copy, and mapped back to the same node of the file.
        /// </summary>
        private T? Deserialize<T>(YamlMappingNode map, string kind)
            where T : class
        {
            string copy = Serialize(map);
            try
            {
                return KubernetesYaml.Deserialize<T>(copy);
            }
            catch (YamlException e)
            {
                Error(LocateInOriginal(map, copy, e.Start), $"cannot read this {kind}: {Message(Innermost(e))}");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // What else the deserializer throws is not documented; an odd object must not take the reader down.
                Error(map.Start, $"cannot read this {kind}: {e.Message}");
            }

            return null;
        }

        private ObjectsFileProblem Problem(Mark? at, string problem)
            => at is { } mark ? new(source, checked((int)mark.Line), checked((int)mark.Column), problem) : new(source, 0, 0, problem);

        private static List<ObjectsFileProblem> Sorted(List<ObjectsFileProblem> problems)
            => [.. problems.OrderBy(static p => p.Line).ThenBy(static p => p.Column)];
    }

    private static string Serialize(YamlNode node)
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    /// <summary>
    /// The position in the file of what <paramref name="mark"/> points at in <paramref name="copy"/>: the copy has the
    /// same nodes in the same order, so the last node starting at or before the mark (in document order) is the one
    /// to blame, and the file's node at the same place in that order is where it is written.
    /// </summary>
    private static Mark LocateInOriginal(YamlNode original, string copy, Mark mark)
    {
        var reread = new YamlStream();
        try
        {
            reread.Load(new StringReader(copy));
        }
        catch (YamlException)
        {
            return original.Start;
        }

        var inCopy = new List<YamlNode>();
        var inFile = new List<YamlNode>();
        PreOrder(reread.Documents[0].RootNode, inCopy);
        PreOrder(original, inFile);
        if (inCopy.Count != inFile.Count)
        {
            return original.Start;
        }

        int found = 0;
        for (int i = 0; i < inCopy.Count && inCopy[i].Start.Index <= mark.Index; i++)
        {
            found = i;
        }

        return inFile[found].Start;
    }

    private static void PreOrder(YamlNode node, List<YamlNode> into)
    {
        into.Add(node);
        switch (node)
        {
            case YamlMappingNode map:
                foreach (KeyValuePair<YamlNode, YamlNode> entry in map.Children)
                {
                    PreOrder(entry.Key, into);
                    PreOrder(entry.Value, into);
                }

                break;
            case YamlSequenceNode sequence:
                foreach (YamlNode child in sequence.Children)
                {
                    PreOrder(child, into);
                }

                break;
        }
    }

    /// <summary>
    /// Why a document cannot be walked: an alias inside the node it names (a cycle, which would never end), or
    /// aliases expanding past <see cref="MaxExpandedNodes"/>. Null for every file kubectl writes.
    /// </summary>
    private static string? AliasProblem(YamlNode root)
    {
        var sizes = new Dictionary<YamlNode, long>(ReferenceEqualityComparer.Instance);
        var onPath = new HashSet<YamlNode>(ReferenceEqualityComparer.Instance);
        long Size(YamlNode node)
        {
            if (sizes.TryGetValue(node, out long known))
            {
                return known;
            }

            if (!onPath.Add(node))
            {
                return -1;
            }

            IEnumerable<YamlNode> children = node switch
            {
                YamlMappingNode map => map.Children.SelectMany(static e => (YamlNode[])[e.Key, e.Value]),
                YamlSequenceNode sequence => sequence.Children,
                _ => [],
            };
            long size = 1;
            foreach (YamlNode child in children)
            {
                long childSize = Size(child);
                if (childSize < 0)
                {
                    return -1;
                }

                size = Math.Min(size + childSize, MaxExpandedNodes + 1);
            }

            onPath.Remove(node);
            sizes[node] = size;
            return size;
        }

        long total = Size(root);
        return total < 0 ? "a YAML alias (*name) inside the node its anchor (&name) names: a cycle, which cannot be read"
            : total > MaxExpandedNodes ? $"YAML aliases expand this document past {MaxExpandedNodes:N0} nodes; refused"
            : null;
    }

    private static string? Scalar(YamlMappingNode map, string key)
        => map.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? value) && value is YamlScalarNode { Value: { Length: > 0 } text } ? text : null;

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an alias",
    };

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is { } inner)
        {
            e = inner;
        }

        return e;
    }

    /// <summary>YamlException messages start with "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; the problem carries the position already.</summary>
    private static string Message(Exception e)
    {
        string message = e.Message;
        if (e is YamlException && message.StartsWith("(Line:", StringComparison.Ordinal) && message.IndexOf("): ", StringComparison.Ordinal) is var end and > 0)
        {
            message = message[(end + 3)..];
        }

        return message;
    }
}
