using System.Text.RegularExpressions;
using Dataplane.Model;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Config;

/// <summary>
/// Reads a node's YAML config (see examples/node.yaml) into a validated <see cref="NodeConfig"/>. It walks
/// YamlDotNet's representation model rather than deserializing into classes, because that is where line and
/// column marks survive: every error points at the key or value to fix, and all of them are reported at once.
/// </summary>
public static partial class NodeConfigLoader
{
    /// <summary>Reads and parses the file at <paramref name="path"/>; an unreadable file is one error naming the path.</summary>
    public static ConfigResult Load(string path) => Load(path, cluster: null);

    /// <summary>
    /// A node in a cluster: <paramref name="path"/> (optional) with the node keys it leaves out taken from
    /// <paramref name="cluster"/>, what the API server (or an objects file) says about this node.
    /// </summary>
    public static ConfigResult Load(string? path, ClusterNodeIdentity? cluster)
    {
        if (path is null)
        {
            ArgumentNullException.ThrowIfNull(cluster);
            return Parse("{}", $"node {cluster.Name} (from the cluster)", [], cluster);
        }

        // Reading a directory fails as "access denied", which sends the user looking at permissions.
        if (Directory.Exists(path))
        {
            return ConfigResult.Failure([new ConfigError(path, 0, 0, "", "cannot read the config file: it is a directory; expected a YAML file such as examples/node.yaml")]);
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return ConfigResult.Failure([new ConfigError(path, 0, 0, "", $"cannot read the config file: {e.Message}")]);
        }

        return Parse(text, path, [], cluster);
    }

    /// <summary>
    /// Parses a document holding only a `services:` list (what `ctl service apply -f` sends) and validates it
    /// against <paramref name="node"/>'s pods, CIDRs and addresses, with every rule of a full config. The
    /// document is read first and the node's own sections after it, so error lines are the document's own.
    /// <paramref name="node"/>'s services are the ones already applied: those the document does not replace keep
    /// their frontends and node ports, and count toward the node's service ports, so a conflict is reported here
    /// with its position rather than refused later by the service table.
    /// </summary>
    public static ConfigResult ParseServices(string yamlText, string sourceName, NodeConfig node)
    {
        ArgumentNullException.ThrowIfNull(yamlText);
        ArgumentNullException.ThrowIfNull(node);
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(yamlText));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e)
        {
            return ConfigResult.Failure([new ConfigError(sourceName, (int)e.Start.Line, (int)e.Start.Column, "", $"YAML syntax error: {SyntaxProblem(e)}")]);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException)
        {
            // As in Parse (found by scripts/fuzz.sh control: tests/Dataplane.Fuzz/corpus/control/crash-*).
            return ConfigResult.Failure([new ConfigError(sourceName, (int)scanner.CurrentPosition.Line, (int)scanner.CurrentPosition.Column, "", ParserStuck)]);
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root
            || root.Children.Count != 1 || root.Children.Keys.Single() is not YamlScalarNode { Value: "services" })
        {
            return ConfigResult.Failure([new ConfigError(sourceName, 1, 1, "", "expected a document with one key, `services:`, holding a list of services")]);
        }

        return Parse(yamlText.TrimEnd() + "\n" + NodeConfigWriter.Write(node, includeServices: false), sourceName, node.Services);
    }

    /// <summary>Parses <paramref name="yamlText"/>; <paramref name="sourceName"/> labels errors and becomes <see cref="NodeConfig.Source"/>.</summary>
    public static ConfigResult Parse(string yamlText, string sourceName) => Parse(yamlText, sourceName, []);

    private static ConfigResult Parse(string yamlText, string sourceName, IReadOnlyList<ServiceConfig> applied, ClusterNodeIdentity? cluster = null)
    {
        ArgumentNullException.ThrowIfNull(yamlText);
        ArgumentNullException.ThrowIfNull(sourceName);
        var reader = new ConfigReader(sourceName);
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(yamlText));
        var parser = new AliasCheckingParser(new Parser(scanner));
        try
        {
            stream.Load(parser);
        }
        catch (AnchorNotFoundException) when (parser.UndefinedAlias is { } alias)
        {
            reader.Error(alias.Start, "", $"YAML syntax error: alias '*{alias.Value}' names no anchor defined before it");
            return ConfigResult.Failure(reader.SortedErrors());
        }
        catch (YamlException e)
        {
            // Some scanner errors carry no position (both marks at index 0); where the scanner stopped is then the best clue.
            Mark at = e.Start.Index == 0 && e.End.Index == 0 ? scanner.CurrentPosition : e.Start;
            reader.Error(at, "", $"YAML syntax error: {SyntaxProblem(e)}");
            return ConfigResult.Failure(reader.SortedErrors());
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException)
        {
            // YamlDotNet 16.3's scanner can fail this way on an unclosed flow collection ("name: [a, b" then more keys).
            reader.Error(scanner.CurrentPosition, "", ParserStuck);
            return ConfigResult.Failure(reader.SortedErrors());
        }

        if (stream.Documents.Count == 0)
        {
            reader.Error(1, 1, "", "the file is empty: expected a mapping with at least a 'node:' section");
            return ConfigResult.Failure(reader.SortedErrors());
        }

        if (stream.Documents.Count > 1)
        {
            reader.Error(stream.Documents[1].RootNode, "", $"expected one YAML document, found {stream.Documents.Count} (a line '---' starts a new document)");
        }

        NodeConfig? config = new NodeConfigParser(reader, applied, cluster).Parse(stream.Documents[0].RootNode);
        return config is not null && !reader.HasErrors
            ? ConfigResult.Success(config with { Source = sourceName })
            : ConfigResult.Failure(reader.SortedErrors());
    }

    private const string ParserStuck = "YAML syntax error: the parser could not continue here (an unclosed '[', '{' or quote above is the usual cause)";

    /// <summary>YamlException messages start with "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; the error carries the mark already.</summary>
    private static string SyntaxProblem(YamlException e) => MarkPrefix().Replace(e.Message, "");

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):\s*")]
    private static partial Regex MarkPrefix();
}
