using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Dataplane.Config;

/// <summary>
/// Passes YAML events through, remembering where the first alias to an undefined anchor is. YamlDotNet resolves
/// aliases only after the whole document is read and its AnchorNotFoundException then carries no position, so
/// without this the error for <c>mac: *gatway</c> would point at line 1.
/// </summary>
internal sealed class AliasCheckingParser : IParser
{
    private readonly IParser _inner;
    private readonly HashSet<string> _anchors = new(StringComparer.Ordinal);

    public AliasCheckingParser(IParser inner) => _inner = inner;

    public ParsingEvent? Current => _inner.Current;

    /// <summary>The first alias naming an anchor not defined before it (YAML anchors must come first), or null.</summary>
    public AnchorAlias? UndefinedAlias { get; private set; }

    public bool MoveNext()
    {
        if (!_inner.MoveNext())
        {
            return false;
        }

        switch (_inner.Current)
        {
            case AnchorAlias alias when UndefinedAlias is null && !_anchors.Contains(alias.Value.Value):
                UndefinedAlias = alias;
                break;
            case NodeEvent { Anchor.IsEmpty: false } node:
                _anchors.Add(node.Anchor.Value);
                break;
        }

        return true;
    }
}
