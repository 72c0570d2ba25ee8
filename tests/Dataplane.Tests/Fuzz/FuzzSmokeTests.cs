using System.Text.RegularExpressions;
using Dataplane.Tests.Infrastructure;

namespace Dataplane.Tests.Fuzz;

/// <summary>
/// scripts/fuzz.sh for real, briefly: afl-fuzz drives the instrumented pipeline and pcap reader for 20 s each, finds
/// new paths, and saves no crash. Root, because the script installs afl++ when it is missing. About a minute.
/// </summary>
[Trait("Category", "slow")]
public sealed partial class FuzzSmokeTests
{
    [RootFact]
    public void Afl_runs_the_pipeline_and_pcap_targets_without_a_crash()
    {
        // The fuzz project as this test run built it (tests/Dataplane.Tests/bin/CONFIG/net10.0 -> tests/Dataplane.Fuzz/bin/CONFIG/net10.0).
        string configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        string build = Repository.PathOf("tests", "Dataplane.Fuzz", "bin", configuration, "net10.0");
        foreach (string target in new[] { "pipeline", "pcap" })
        {
            ProcessResult result = ProcessRunner.Run(TimeSpan.FromMinutes(3), "env", $"FUZZ_BUILD_OUTPUT={build}",
                "bash", Repository.PathOf("scripts", "fuzz.sh"), target, "20");
            string report = $"{result.Command} exited {result.ExitCode}\n{result.StdOut}\n{result.StdErr}";
            Assert.True(result.ExitCode == 0, report);
            Assert.True(long.Parse(Figure(result.StdOut, "executions")) > 0, report);
            Assert.True(long.Parse(Figure(result.StdOut, "paths").Split(' ')[0]) > 0, report);
            Assert.True(Figure(result.StdOut, "crashes") == "0", report);
        }
    }

    private static string Figure(string output, string name) =>
        FigureLine().Matches(output).FirstOrDefault(m => m.Groups[1].Value == name)?.Groups[2].Value.Trim()
        ?? throw new Xunit.Sdk.XunitException($"no '{name}:' line in:\n{output}");

    [GeneratedRegex(@"^([a-z /]+):\s+(.+)$", RegexOptions.Multiline)]
    private static partial Regex FigureLine();
}
