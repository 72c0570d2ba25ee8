namespace Dataplane.Perf;

internal static class RepositoryRoot
{
    /// <summary>The repository root: the nearest folder holding Dataplane.sln, from the working directory or this tool's own.</summary>
    public static string Find()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Dataplane.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("run from inside the repository: no Dataplane.sln above the working directory");
    }
}
