namespace Dataplane.Tests.Infrastructure;

/// <summary>
/// A [Fact] that needs a command-line tool (e.g. Debian's docker-compose). It skips with a reason when the tool is not
/// on PATH, except under CI (CI=true), where it runs and fails: scripts/setup.sh installs the tool there.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(string tool)
    {
        if (Find(tool) is null && !RootRequirement.IsCi)
        {
            Skip = $"needs `{tool}` on PATH (scripts/setup.sh installs it)";
        }
    }

    /// <summary>The tool's full path, or null when no PATH directory has it.</summary>
    public static string? Find(string tool) => (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, tool))
        .FirstOrDefault(File.Exists);
}
