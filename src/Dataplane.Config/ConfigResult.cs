using System.Diagnostics.CodeAnalysis;
using Dataplane.Model;

namespace Dataplane.Config;

/// <summary>
/// The outcome of loading a config: a validated <see cref="NodeConfig"/>, or every error found (never both, never
/// neither). Errors are values rather than an exception so a CLI can print them all and a daemon reload can keep
/// running on the old config.
/// </summary>
public sealed class ConfigResult
{
    private ConfigResult(NodeConfig? config, IReadOnlyList<ConfigError> errors)
    {
        Config = config;
        Errors = errors;
    }

    /// <summary>The config, when <see cref="IsValid"/>.</summary>
    public NodeConfig? Config { get; }

    /// <summary>Empty when <see cref="IsValid"/>; otherwise in file order.</summary>
    public IReadOnlyList<ConfigError> Errors { get; }

    [MemberNotNullWhen(true, nameof(Config))]
    public bool IsValid => Config is not null;

    public static ConfigResult Success(NodeConfig config) => new(config ?? throw new ArgumentNullException(nameof(config)), []);

    public static ConfigResult Failure(IReadOnlyList<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (errors.Count == 0)
        {
            throw new ArgumentException("a failed result needs at least one error", nameof(errors));
        }

        return new ConfigResult(null, errors);
    }

    /// <summary>For callers that want an exception: returns the config, or throws a <see cref="ConfigException"/> listing all errors.</summary>
    public NodeConfig ThrowIfInvalid() => Config ?? throw new ConfigException(Errors);
}
