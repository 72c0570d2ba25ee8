using System.Diagnostics.CodeAnalysis;

namespace Dataplane.Replay;

/// <summary>
/// Where `replay` writes its pcaps and summary.json. Made if absent; when the run fails (a read-only or full file
/// system, a path under a regular file) <see cref="Discard"/> removes every file the run wrote and the directories
/// it made, so a failed replay leaves no half-written output that looks like a result.
/// </summary>
public sealed class ReplayOutputDirectory
{
    private readonly List<string> _files = [];

    // The highest directory this run made (made with everything below it), or null when the directory existed.
    private readonly string? _made;

    private ReplayOutputDirectory(string path, string? made)
    {
        Path = path;
        _made = made;
    }

    public string Path { get; }

    /// <summary>Makes <paramref name="path"/> (and its missing parents); null with <paramref name="error"/> saying why it cannot be.</summary>
    public static bool TryCreate(string path, [NotNullWhen(true)] out ReplayOutputDirectory? output, [NotNullWhen(false)] out string? error)
    {
        output = null;
        string? missing = null;
        for (string? dir = path; dir is not null; dir = System.IO.Path.GetDirectoryName(dir))
        {
            if (Directory.Exists(dir))
            {
                break;
            }

            if (System.IO.File.Exists(dir) || new FileInfo(dir).LinkTarget is not null)
            {
                // Directory.CreateDirectory says "already exists" for /dev/full and "could not find a part of the path" under a file.
                error = dir == path ? $"{path}: exists and is not a directory" : $"{path}: {dir} is not a directory";
                return false;
            }

            missing = dir;
        }

        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"{path}: cannot create the output directory: {e.Message}";
            return false;
        }

        output = new ReplayOutputDirectory(path, missing);
        error = null;
        return true;
    }

    /// <summary>The path of <paramref name="name"/> in the directory, remembered so that <see cref="Discard"/> removes it.</summary>
    public string File(string name)
    {
        string file = System.IO.Path.Combine(Path, name);
        _files.Add(file);
        return file;
    }

    /// <summary>Removes what this run wrote. Best effort: the run has already failed, and its error is the one to report.</summary>
    public void Discard()
    {
        try
        {
            if (_made is not null)
            {
                Directory.Delete(_made, recursive: true);
                return;
            }

            foreach (string file in _files)
            {
                System.IO.File.Delete(file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only file system refuses the removal as it refused the writes; nothing was written there.
        }
    }
}
