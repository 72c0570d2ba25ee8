using Dataplane.Model;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon.State;

/// <summary>
/// What of a node outlives its daemon, in <see cref="NodeConfig.StateDirectoryPath"/> (0700, root's): conntrack's
/// mapped entries (<see cref="ConntrackFile"/>) and the record of what the daemon made (<see cref="OwnershipRecord"/>).
/// Opened once per start, before anything is made.
/// </summary>
public sealed class NodeState : IDisposable
{
    private NodeState(string directory, bool created, OwnershipRecord record, ConntrackFile conntrack)
    {
        CreatedDirectory = created;
        Directory = directory;
        Record = record;
        Conntrack = conntrack;
    }

    public string Directory { get; }

    /// <summary>This start made <see cref="Directory"/> (no earlier run had one): a failed start takes it away again.</summary>
    public bool CreatedDirectory { get; }

    public OwnershipRecord Record { get; }

    public ConntrackFile Conntrack { get; }

    /// <summary>
    /// Creates the directory if needed, reads the record and maps conntrack (an earlier run's file when compatible; an
    /// incompatible or corrupt one is discarded with a log line). Throws <see cref="IOException"/>,
    /// <see cref="UnauthorizedAccessException"/> or <see cref="InvalidDataException"/> with the path in the message.
    /// </summary>
    public static NodeState Open(NodeConfig config, ILogger logger)
    {
        string directory = config.StateDirectoryPath;
        bool created = !System.IO.Directory.Exists(directory);
        System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        OwnershipRecord record = OwnershipRecord.Load(directory);
        ConntrackFile conntrack = ConntrackFile.Open(directory, config.Conntrack.MaxEntries, config.Conntrack.Accounting, out string? discarded);
        if (discarded is not null)
        {
            logger.LogWarning("conntrack: {Reason}: discarded, starting with no flows", discarded);
        }

        return new NodeState(directory, created, record, conntrack);
    }

    public void Dispose() => Conntrack.Dispose();

    /// <summary>
    /// A start failed: unmaps, and when this start made the directory and recorded nothing that still exists, removes
    /// it (nothing is left half-made by a start that never forwarded).
    /// </summary>
    public void Abandon()
    {
        Dispose();
        if (CreatedDirectory && Record.Taps.Count == 0 && Record.Namespaces.Count == 0 && Record.RuntimePods.Count == 0)
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
