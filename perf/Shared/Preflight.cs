namespace Dataplane.Perf;

/// <summary>What a benchmark checks before it touches the machine: root, and the programs and files scripts/setup.sh installs.</summary>
internal static class Preflight
{
    /// <summary>True when the run can start; otherwise says why on stderr, as "<paramref name="tool"/>: ...".</summary>
    /// <param name="rootFor">What root is needed for, shown when it is missing.</param>
    /// <param name="required">Program names looked up on PATH, and absolute paths of files.</param>
    public static bool Ready(string tool, string rootFor, IEnumerable<string> required)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine($"{tool}: needs root ({rootFor})");
            return false;
        }

        if (Missing(required).ToList() is { Count: > 0 } missing)
        {
            Console.Error.WriteLine($"{tool}: missing {string.Join(", ", missing)}; scripts/setup.sh installs them");
            return false;
        }

        return true;
    }

    private static IEnumerable<string> Missing(IEnumerable<string> required) => required.Where(tool => tool.StartsWith('/')
        ? !File.Exists(tool)
        : !Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(dir => File.Exists(Path.Combine(dir, tool))));
}
