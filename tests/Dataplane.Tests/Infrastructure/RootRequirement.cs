namespace Dataplane.Tests.Infrastructure;

/// <summary>
/// Whether tests that create namespaces and TAP devices can run. They skip when not root, except under CI
/// (CI=true), where they run anyway and fail loudly: a CI job must never pass by skipping them.
/// </summary>
public static class RootRequirement
{
    public const string SkipReason = "needs root (CAP_NET_ADMIN) to create namespaces and TAP devices";

    public static bool IsRoot => Environment.IsPrivilegedProcess;

    public static bool IsCi => IsCiValue(Environment.GetEnvironmentVariable("CI"));

    /// <summary>The skip reason to use, or null to run.</summary>
    public static string? Skip => SkipFor(IsRoot, Environment.GetEnvironmentVariable("CI"));

    /// <summary>The decision itself, separated from the environment so it can be tested.</summary>
    public static string? SkipFor(bool isRoot, string? ciVariable) => isRoot || IsCiValue(ciVariable) ? null : SkipReason;

    private static bool IsCiValue(string? value) => string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
}
