namespace Dataplane.Config;

/// <summary>Thrown by <see cref="ConfigResult.ThrowIfInvalid"/>; the message lists every error, one a line, not just the first.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(Format(errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<ConfigError> Errors { get; }

    private static string Format(IReadOnlyList<ConfigError> errors)
    {
        string source = errors.Count > 0 ? errors[0].File : "config";
        string header = errors.Count == 1 ? $"{source}: 1 configuration error" : $"{source}: {errors.Count} configuration errors";
        return header + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(static e => "  " + e));
    }
}
