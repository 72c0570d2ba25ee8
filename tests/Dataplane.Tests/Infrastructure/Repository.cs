namespace Dataplane.Tests.Infrastructure;

/// <summary>Paths in the repository the tests run from (the nearest folder above the test output holding Dataplane.sln).</summary>
public static class Repository
{
    private static readonly Lazy<string> s_root = new(Find);

    public static string Root => s_root.Value;

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dataplane.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Dataplane.sln above {AppContext.BaseDirectory}");
    }
}
