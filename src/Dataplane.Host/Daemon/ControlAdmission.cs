using System.Globalization;

namespace Dataplane.Daemon;

/// <summary>
/// Who may hold a control connection, and how many may be open at once. A flood of connections (issue 12: about
/// 20,000 idle ones exhausted the daemon's file descriptors, it aborted and every pod lost eth0) is turned away one
/// connection at a time, each refused at once with a short line instead of being queued or served. One client
/// process may hold at most a quarter of the connections, so a runaway script cannot lock `ctl status` or the CNI
/// plugin out. The counts are what /metrics shows as dataplane_control_*.
/// </summary>
internal sealed class ControlAdmission
{
    /// <summary>A client process may hold 1/PeerShare of the connections (at least one).</summary>
    private const int PeerShare = 4;

    private readonly Lock _lock = new();
    private readonly Dictionary<int, int> _openByPid = [];
    private readonly uint? _group;
    private int _open;
    private long _refusedPeer;
    private long _refusedLimit;
    private long _closedIdle;
    private long _acceptErrors;

    /// <param name="group">The group whose members may connect besides root; null for root only.</param>
    public ControlAdmission(int maxConnections, uint? group)
    {
        MaxConnections = maxConnections;
        MaxPerPeer = Math.Max(1, maxConnections / PeerShare);
        _group = group;
    }

    public int MaxConnections { get; }

    public int MaxPerPeer { get; }

    /// <summary>Connections admitted and not yet closed.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Connections refused because their peer is neither root nor in the control group.</summary>
    public long RefusedPeer => Interlocked.Read(ref _refusedPeer);

    /// <summary>Connections refused because the daemon, or their process, already held as many as allowed, or the daemon was low on file descriptors.</summary>
    public long RefusedLimit => Interlocked.Read(ref _refusedLimit);

    /// <summary>Connections closed because no complete request came within the idle timeout.</summary>
    public long ClosedIdle => Interlocked.Read(ref _closedIdle);

    /// <summary>accept() failures survived (EMFILE and ENFILE above all), each followed by a back-off.</summary>
    public long AcceptErrors => Interlocked.Read(ref _acceptErrors);

    /// <summary>
    /// Admits the connection (the caller must <see cref="Release"/> it when it closes) and returns null, or returns
    /// the one line that tells the peer why not.
    /// </summary>
    /// <summary>Whether the peer may use the socket at all (root, or in the control group).</summary>
    public bool Allows(ControlPeer peer) => peer.IsAllowed(_group);

    public string? TryAdmit(ControlPeer peer)
    {
        if (!peer.IsAllowed(_group))
        {
            Interlocked.Increment(ref _refusedPeer);
            return _group is { } group
                ? string.Create(CultureInfo.InvariantCulture, $"permission denied: the control socket serves root and group {group} only (you are uid {peer.Uid} gid {peer.Gid})")
                : string.Create(CultureInfo.InvariantCulture, $"permission denied: the control socket serves root only (you are uid {peer.Uid}); set dataplane.controlGroup to let a group in");
        }

        lock (_lock)
        {
            if (_open >= MaxConnections)
            {
                Interlocked.Increment(ref _refusedLimit);
                return string.Create(CultureInfo.InvariantCulture, $"busy: {_open} control connections are open, the limit (dataplane.controlMaxConnections) is {MaxConnections}; try again");
            }

            int mine = _openByPid.GetValueOrDefault(peer.Pid);
            if (mine >= MaxPerPeer)
            {
                Interlocked.Increment(ref _refusedLimit);
                return string.Create(CultureInfo.InvariantCulture, $"busy: your process (pid {peer.Pid}) holds {mine} control connections, the most one process may hold ({MaxPerPeer}, a quarter of dataplane.controlMaxConnections)");
            }

            _openByPid[peer.Pid] = mine + 1;
            _open++;
            return null;
        }
    }

    public void Release(ControlPeer peer)
    {
        lock (_lock)
        {
            _open--;
            int mine = _openByPid[peer.Pid] - 1;
            if (mine == 0)
            {
                _openByPid.Remove(peer.Pid);
            }
            else
            {
                _openByPid[peer.Pid] = mine;
            }
        }
    }

    /// <summary>A connection refused because the daemon was close to its open-file limit.</summary>
    public void CountLowDescriptors() => Interlocked.Increment(ref _refusedLimit);

    public void CountIdleClose() => Interlocked.Increment(ref _closedIdle);

    public void CountAcceptError() => Interlocked.Increment(ref _acceptErrors);
}
