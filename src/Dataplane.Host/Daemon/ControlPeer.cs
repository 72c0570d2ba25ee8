using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Dataplane.Daemon;

/// <summary>
/// Who is at the other end of a control connection: the process, user and group the kernel recorded when it
/// connected (SO_PEERCRED), which the peer cannot forge, unlike anything it sends.
/// </summary>
internal readonly record struct ControlPeer(int Pid, uint Uid, uint Gid)
{
    /// <summary>The peer of an accepted Unix socket connection.</summary>
    public static ControlPeer Of(Socket connection)
    {
        Span<byte> buffer = stackalloc byte[Marshal.SizeOf<Interop.Libc.ucred>()];
        int length = connection.GetRawSocketOption(Interop.Libc.SOL_SOCKET, Interop.Libc.SO_PEERCRED, buffer);
        if (length < buffer.Length)
        {
            throw new SocketException((int)SocketError.ProtocolOption);
        }

        Interop.Libc.ucred cred = MemoryMarshal.Read<Interop.Libc.ucred>(buffer);
        return new ControlPeer(cred.pid, cred.uid, cred.gid);
    }

    /// <summary>
    /// Root, or in <paramref name="group"/> (null: root only) as its primary group or one of its supplementary
    /// groups. SO_PEERCRED carries only the primary one, so the others are read from /proc/PID/status; a peer that
    /// exited meanwhile (or whose pid we cannot see from our pid namespace) has none there.
    /// </summary>
    public bool IsAllowed(uint? group)
    {
        if (Uid == 0)
        {
            return true;
        }

        if (group is not { } allowed)
        {
            return false;
        }

        return Gid == allowed || SupplementaryGroups().Contains(allowed);
    }

    private List<uint> SupplementaryGroups()
    {
        var groups = new List<uint>();
        if (Pid <= 0)
        {
            return groups;
        }

        try
        {
            foreach (string line in File.ReadLines($"/proc/{Pid.ToString(CultureInfo.InvariantCulture)}/status"))
            {
                if (!line.StartsWith("Groups:", StringComparison.Ordinal))
                {
                    continue;
                }

                foreach (string id in line["Groups:".Length..].Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
                {
                    if (uint.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
                    {
                        groups.Add(gid);
                    }
                }

                break;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return groups;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"pid {Pid} uid {Uid} gid {Gid}");
}
