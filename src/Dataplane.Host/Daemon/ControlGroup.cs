using System.Globalization;
using Dataplane.Io;

namespace Dataplane.Daemon;

/// <summary>dataplane.controlGroup: the group whose members may use the control socket besides root.</summary>
internal static class ControlGroup
{
    /// <summary>The gid of a group name (through NSS, as ls and chgrp see it) or of a numeric gid as written.</summary>
    public static unsafe uint Resolve(string group)
    {
        if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
        {
            return gid;
        }

        Interop.Libc.group* entry = Interop.Libc.getgrnam(group);
        return entry is not null
            ? entry->gr_gid
            : throw new IOException($"dataplane.controlGroup: no group named '{group}' on this machine (create it with groupadd, or give a gid)");
    }

    /// <summary>
    /// Lets the group reach the socket: a directory that neither others nor the group may search (such as the
    /// 0700 /run/dataplane the daemon makes) gets the group and group search (0710: members can open a socket
    /// whose name they know, not list the directory). A directory others may search already (/tmp) is left as is.
    /// </summary>
    public static void GrantDirectory(string directory, uint gid)
    {
        UnixFileMode mode = File.GetUnixFileMode(directory);
        if ((mode & UnixFileMode.OtherExecute) != 0)
        {
            return;
        }

        if (Interop.Libc.chown(directory, uint.MaxValue, gid) != 0)
        {
            throw ErrnoException.FromLastError($"chown {directory} to group {gid}");
        }

        File.SetUnixFileMode(directory, mode | UnixFileMode.GroupExecute);
    }

    /// <summary>Makes the socket file root's and the group's: mode 0660, group <paramref name="gid"/>.</summary>
    public static void GrantSocket(string path, uint gid)
    {
        if (Interop.Libc.chown(path, uint.MaxValue, gid) != 0)
        {
            throw ErrnoException.FromLastError($"chown {path} to group {gid}");
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
    }
}
