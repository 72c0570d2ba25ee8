namespace Dataplane.Daemon.State;

/// <summary>
/// `dataplane cleanup`: removes what a node's daemons made, as their <see cref="OwnershipRecord"/> lists it (every
/// recorded TAP, every recorded namespace with no process inside), conntrack's file and the record itself, for a user
/// who wants a clean slate (a stopped daemon leaves pods their eth0 on purpose). Refused while a daemon for the node
/// runs: it holds the node's instance lock, which cleanup takes first.
/// </summary>
public static class NodeCleanup
{
    /// <summary>What happened, a line per thing; <see cref="CleanupResult.Running"/> when a daemon holds the lock.</summary>
    public static CleanupResult Run(string node, string stateDirectory, string lockPath)
    {
        FileStream? instanceLock = null;
        if (File.Exists(lockPath))
        {
            try
            {
                instanceLock = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                return new CleanupResult([], Running: true);
            }
        }

        try
        {
            var lines = new List<string>();
            if (!Directory.Exists(stateDirectory))
            {
                lines.Add($"node {node}: nothing recorded ({stateDirectory} does not exist)");
                return new CleanupResult(lines, Running: false);
            }

            OwnershipRecord record = OwnershipRecord.Load(stateDirectory);
            var owned = new OwnedPodNetworks(record, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            foreach (OwnedTap tap in record.Taps)
            {
                lines.Add(owned.RemoveTap(tap));
            }

            foreach (OwnedNamespace ns in record.Namespaces)
            {
                lines.Add(owned.RemoveNamespace(ns));
            }

            foreach (Protocol.PodRequest pod in record.RuntimePods)
            {
                lines.Add($"pod {pod.Name} (attached at run time): forgotten");
            }

            record.Delete();
            string conntrack = Path.Combine(stateDirectory, ConntrackFile.FileName);
            if (File.Exists(conntrack))
            {
                File.Delete(conntrack);
                lines.Add($"{conntrack}: deleted (every tracked flow forgotten)");
            }

            if (!Directory.EnumerateFileSystemEntries(stateDirectory).Any())
            {
                Directory.Delete(stateDirectory);
            }

            lines.Add($"node {node}: clean");
            return new CleanupResult(lines, Running: false);
        }
        finally
        {
            if (instanceLock is not null)
            {
                instanceLock.Dispose();
                File.Delete(lockPath);
            }
        }
    }
}

/// <summary>What <see cref="NodeCleanup.Run"/> did, or that it did nothing because the node's daemon runs.</summary>
public sealed record CleanupResult(IReadOnlyList<string> Lines, bool Running);
