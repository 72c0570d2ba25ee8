using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Config;

/// <summary>
/// Collects <see cref="ConfigError"/>s while the loader walks the YAML representation model. Every check records
/// an error and carries on with a placeholder, so one run reports everything wrong with a file instead of making
/// the operator fix it one line at a time.
/// </summary>
internal sealed class ConfigReader
{
    private readonly List<ConfigError> _errors = [];

    public ConfigReader(string file) => File = file;

    public string File { get; }

    public bool HasErrors => _errors.Count > 0;

    /// <summary>The errors in file order; checks run section by section, but a file need not list its sections in that order.</summary>
    public IReadOnlyList<ConfigError> SortedErrors()
        => [.. _errors.OrderBy(static e => e.Line).ThenBy(static e => e.Column)];

    public void Error(YamlNode at, string keyPath, string problem) => Error(at.Start, keyPath, problem);

    public void Error(in Mark mark, string keyPath, string problem)
        => Error(checked((int)mark.Line), checked((int)mark.Column), keyPath, problem);

    public void Error(int line, int column, string keyPath, string problem)
        => _errors.Add(new ConfigError(File, line, column, keyPath, problem));

    /// <summary>Views <paramref name="node"/> as a mapping with <paramref name="validKeys"/>; null (after an error) when it is not one.</summary>
    /// <param name="renamed">Keys an older format had, each with what replaced it: refused with that name, not guessed at.</param>
    public ConfigMapping? Mapping(YamlNode node, string path, IReadOnlyList<string> validKeys, IReadOnlyDictionary<string, string>? renamed = null)
    {
        if (node is YamlMappingNode mapping)
        {
            return new ConfigMapping(this, mapping, path, validKeys, renamed);
        }

        Error(node, path, $"expected a mapping (key: value), got {Describe(node)}");
        return null;
    }

    /// <summary>How a node looks to a person reading the file, for "expected X, got Y" messages.</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode { Style: ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted } s => $"the string \"{s.Value}\"",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an alias",
    };

    /// <summary>
    /// An unquoted <c>~</c>, <c>null</c> or empty value means "not set" in YAML (<c>routes:</c> with nothing after it),
    /// so optional keys treat it as absent. A quoted <c>""</c> is a real empty string.
    /// </summary>
    public static bool IsNull(YamlNode node)
        => node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s
            && s.Value is null or "" or "~" or "null" or "Null" or "NULL";
}
