namespace Dataplane.Config;

/// <summary>
/// Whether a daemon may put its control socket at a path. Nothing there is fine, and so is a socket: a dead daemon's,
/// which the next one replaces (it holds the node's lock, so no live daemon listens there). Anything else would be
/// deleted at start-up (a user's file at dataplane.controlSocket) or cannot be made (a path under a regular file),
/// so it is refused before anything is made: by config validation, and again by the daemon as it starts.
/// </summary>
public static class ControlSocketFile
{
    /// <summary>Null when the node daemon may bind <paramref name="path"/> and take its instance lock next to it; else the problem, naming the path.</summary>
    public static string? Problem(string path)
    {
        if (SocketProblem(path) is { } problem)
        {
            return problem;
        }

        // The node's instance lock sits next to the socket (NodeDaemon.AcquireLock) and is opened as a file.
        FileKind lockKind = FileKinds.Of(path + ".lock");
        return lockKind is FileKind.Missing or FileKind.RegularFile
            ? null
            : $"'{path}.lock', the node's instance lock, is {FileKinds.Describe(lockKind)}, not a regular file: move it away";
    }

    /// <summary>Null when a server (the daemon's control or metrics socket, the ingress controller's) may replace what is at <paramref name="path"/> with its socket.</summary>
    public static string? SocketProblem(string path)
    {
        FileKind kind = FileKinds.Of(path);
        if (kind is not (FileKind.Missing or FileKind.Socket))
        {
            return $"'{path}' is {FileKinds.Describe(kind)}, not a socket; only a socket a stopped server left there is replaced: move the file or choose another path";
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
