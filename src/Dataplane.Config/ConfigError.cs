namespace Dataplane.Config;

/// <summary>
/// One problem found in a config file, located like a compiler diagnostic so editors and terminals can jump to it:
/// <c>node.yaml:14:11: pods[1].ip: '10.244.2.5' is outside node.podCidr 10.244.1.0/24</c>.
/// </summary>
/// <param name="File">The source name given to the loader (a path, or a label).</param>
/// <param name="Line">1-based line of the offending key or value; 0 when the problem is the file itself (unreadable).</param>
/// <param name="Column">1-based column; 0 together with <paramref name="Line"/>.</param>
/// <param name="KeyPath">Dotted path with list indexes (<c>services[0].ports[1].port</c>); empty for YAML syntax errors.</param>
/// <param name="Problem">What is wrong, phrased so the fix is obvious.</param>
public sealed record ConfigError(string File, int Line, int Column, string KeyPath, string Problem)
{
    public override string ToString()
    {
        string location = Line > 0 ? $"{File}:{Line}:{Column}" : File;
        return KeyPath.Length > 0 ? $"{location}: {KeyPath}: {Problem}" : $"{location}: {Problem}";
    }
}
