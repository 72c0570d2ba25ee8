namespace Dataplane.Config;

/// <summary>
/// What a path names, without following a symbolic link: lstat's file type. .NET reports a socket, a device and a
/// regular file alike as a file, and validation must tell a daemon's stale socket (safe to replace) from a user's
/// file that happens to sit at dataplane.controlSocket (which the daemon must not delete).
/// </summary>
internal enum FileKind
{
    Missing,
    Socket,
    Directory,
    RegularFile,
    SymbolicLink,
    Other,
}

internal static class FileKinds
{
    private const int S_IFMT = 0xF000;
    private const int S_IFSOCK = 0xC000;
    private const int S_IFLNK = 0xA000;
    private const int S_IFREG = 0x8000;
    private const int S_IFDIR = 0x4000;

    /// <summary>The kind of <paramref name="path"/>; <see cref="FileKind.Missing"/> also when it cannot be looked at (a parent without search permission).</summary>
    public static unsafe FileKind Of(string path)
    {
        byte* buffer = stackalloc byte[Interop.Libc.statx_size];
        if (Interop.Libc.statx(Interop.Libc.AT_FDCWD, path, Interop.Libc.AT_SYMLINK_NOFOLLOW, Interop.Libc.STATX_TYPE, buffer) != 0)
        {
            return FileKind.Missing;
        }

        return (*(ushort*)(buffer + Interop.Libc.stx_mode_offset) & S_IFMT) switch
        {
            S_IFSOCK => FileKind.Socket,
            S_IFDIR => FileKind.Directory,
            S_IFREG => FileKind.RegularFile,
            S_IFLNK => FileKind.SymbolicLink,
            _ => FileKind.Other,
        };
    }

    /// <summary>"a regular file", for messages.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Socket => "a socket",
        FileKind.Directory => "a directory",
        FileKind.RegularFile => "a regular file",
        FileKind.SymbolicLink => "a symbolic link",
        _ => "a device or FIFO",
    };
}
