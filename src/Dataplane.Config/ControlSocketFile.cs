namespace Dataplane.Config;

/// <summary>
/// Whether a daemon may put its control socket at a path. Nothing there is fine, and so is a socket: a dead daemon's,
/// which the next one replaces (it holds the node's lock, so no live daemon listens there). Anything else would be
/// deleted at start-up (a user's file at dataplane.controlSocket) or cannot be made (a path under a regular file),
/// so it is refused before anything is made: by config validation, and again by the daemon as it starts.
/// </summary>
public static class ControlSocketFile
{
    /// <summary>Null when the daemon may bind <paramref name="path"/>; else the problem, naming the path.</summary>
    public static string? Problem(string path)
    {
        FileKind kind = FileKinds.Of(path);
        if (kind is not (FileKind.Missing or FileKind.Socket))
        {
            return $"'{path}' is {FileKinds.Describe(kind)}, not a socket; the daemon replaces only a socket a stopped daemon left there: move the file or choose another path";
        }

        // The node's instance lock sits next to the socket (NodeDaemon.AcquireLock) and is opened as a file.
        FileKind lockKind = FileKinds.Of(path + ".lock");
        if (lockKind is not (FileKind.Missing or FileKind.RegularFile))
        {
            return $"'{path}.lock', the node's instance lock, is {FileKinds.Describe(lockKind)}, not a regular file: move it away";
        }

        for (string? dir = Path.GetDirectoryName(path); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            FileKind parent = FileKinds.Of(dir);
            if (parent == FileKind.Directory)
            {
                return null;
            }

            if (parent != FileKind.Missing && !Directory.Exists(dir))
            {
                return $"'{path}' cannot be made: {dir} is {FileKinds.Describe(parent)}, not a directory";
            }
        }

        return null;
    }
}
