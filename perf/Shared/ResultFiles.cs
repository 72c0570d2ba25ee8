namespace Dataplane.Perf;

/// <summary>A run's report, printed and written as perf/results/&lt;yyyy-MM-dd-HHmm&gt;-&lt;name&gt;.md and .json, as every tool does.</summary>
internal static class ResultFiles
{
    public static void Write(string directory, DateTime started, string name, string markdown, string json)
    {
        Directory.CreateDirectory(directory);
        string stem = Path.Combine(directory, $"{started:yyyy-MM-dd-HHmm}-{name}");
        Console.WriteLine();
        Console.WriteLine(markdown);
        File.WriteAllText(stem + ".md", markdown);
        File.WriteAllText(stem + ".json", json);
        Console.WriteLine($"wrote {stem}.md and .json");
    }
}
