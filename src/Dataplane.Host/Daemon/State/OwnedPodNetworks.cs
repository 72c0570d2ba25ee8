using Dataplane.Io;
using Dataplane.Io.Netns;
using Microsoft.Extensions.Logging;

namespace Dataplane.Daemon.State;

/// <summary>
/// Makes, adopts, releases and removes pods' networks with the <see cref="OwnershipRecord"/> kept in step: the one
/// place that decides what a daemon may touch. A TAP is recorded before it is made and made persistent, so a daemon
/// that stops or dies leaves the pod its eth0; the next daemon adopts what the record lists and nothing else. A
/// namespace is recorded before it is created, and deleted only when recorded and empty of processes.
/// </summary>
public sealed class OwnedPodNetworks(OwnershipRecord record, ILogger logger)
{
    public OwnershipRecord Record => record;

    /// <summary>Makes (or adopts, when the record lists its TAP) the network <paramref name="spec"/> describes for <paramref name="pod"/>.</summary>
    public PodNetwork Create(PodNetworkSpec spec, string pod)
    {
        string path = NetworkNamespace.PathOf(spec.Namespace);
        bool ownsNamespace = record.OwnsNamespace(path);
        bool mayCreate = spec.CreateNamespaceIfAbsent && !ownsNamespace && !File.Exists(path)
            && System.IO.Path.GetDirectoryName(path) == NetworkNamespace.RunDirectory;
        bool adopt = record.OwnsTap(path, spec.InterfaceName);
        if (mayCreate)
        {
            record.AddNamespace(path, pod);
        }

        record.AddTap(path, spec.InterfaceName, pod);
        PodNetwork network;
        try
        {
            network = PodNetwork.Create(spec with
            {
                Adopt = adopt,
                NamespaceOwned = ownsNamespace,
                Tap = spec.Tap with { Persistent = true },
            });
        }
        catch
        {
            if (!adopt)
            {
                record.RemoveTap(path, spec.InterfaceName);
            }

            if (mayCreate)
            {
                record.RemoveNamespace(path);
            }

            throw;
        }

        if (mayCreate && !network.CreatedNamespace)
        {
            record.RemoveNamespace(path); // someone else created it meanwhile: not ours
        }

        return network;
    }

    /// <summary>The daemon stops: the pod keeps its eth0, and the record keeps it ours for the next daemon.</summary>
    public void Release(PodNetwork network)
    {
        try
        {
            network.Release();
        }
        catch (AggregateException ex)
        {
            logger.LogError("releasing {Network} failed: {Error}", network, ex.Message);
        }
    }

    /// <summary>The pod goes: its TAP is removed, and its namespace when ours and empty; the record forgets both.</summary>
    public void Remove(PodNetwork network)
    {
        string path = NetworkNamespace.PathOf(network.Spec.Namespace);
        IReadOnlyList<int> inside = network.CreatedNamespace ? network.Namespace.ProcessesInside() : [];
        try
        {
            network.Dispose();
        }
        catch (Exception ex) when (ex is AggregateException or IOException or InvalidOperationException)
        {
            logger.LogError("cleanup of {Network} failed: {Error}", network, ex.Message);
        }

        record.RemoveTap(path, network.Spec.InterfaceName);
        if (network.CreatedNamespace && inside.Count > 0)
        {
            logger.LogWarning("namespace {Namespace} kept: process(es) {Pids} still inside; it is no longer the daemon's", path, string.Join(", ", inside));
        }

        if (network.CreatedNamespace)
        {
            record.RemoveNamespace(path);
        }
    }

    /// <summary>A start failed: what this start made goes, what it adopted is let go as it was.</summary>
    public void Undo(PodNetwork network)
    {
        if (network.Adopted)
        {
            Release(network);
        }
        else
        {
            Remove(network);
        }
    }

    /// <summary>
    /// Removes a recorded TAP no pod claims any more (a pod left node.yaml, a runtime pod whose namespace vanished, or
    /// `dataplane cleanup`), and forgets it. Returns what was done, for the log or the user.
    /// </summary>
    public string RemoveTap(OwnedTap tap)
    {
        string outcome;
        if (!File.Exists(tap.Namespace))
        {
            outcome = $"TAP {tap.Name} of pod {tap.Pod}: its namespace {tap.Namespace} is gone";
        }
        else
        {
            try
            {
                using NetworkNamespace ns = NetworkNamespace.Open(tap.Namespace);
                outcome = ns.Run(() =>
                {
                    using Io.Netlink.RtNetlink netlink = Io.Netlink.RtNetlink.Open();
                    if (netlink.TryGetLink(tap.Name) is not { Kind: "tun" })
                    {
                        return $"TAP {tap.Name} of pod {tap.Pod} in {tap.Namespace}: already gone";
                    }

                    // Persistence off, then the last close unregisters it. Attaching needs the same virtio-net header
                    // setting the device was made with only for I/O, not for removal: any TAP flags will do.
                    using Io.Tap.TapDevice device = Io.Tap.TapDevice.Attach(tap.Name, Io.Tap.TapOptions.Default);
                    device.Remove();
                    return $"TAP {tap.Name} of pod {tap.Pod} in {tap.Namespace}: removed";
                });
            }
            catch (Exception ex) when (ex is IOException or ErrnoException)
            {
                return $"TAP {tap.Name} of pod {tap.Pod} in {tap.Namespace}: not removed: {ex.Message}";
            }
        }

        record.RemoveTap(tap.Namespace, tap.Name);
        return outcome;
    }

    /// <summary>Deletes a recorded namespace unless a process is inside, and forgets it either way (then it is no longer ours).</summary>
    public string RemoveNamespace(OwnedNamespace owned)
    {
        string outcome;
        if (!File.Exists(owned.Path))
        {
            outcome = $"namespace {owned.Path} (pod {owned.Pod}): already gone";
        }
        else
        {
            try
            {
                using NetworkNamespace ns = NetworkNamespace.Open(owned.Path);
                IReadOnlyList<int> inside = ns.ProcessesInside();
                if (inside.Count > 0)
                {
                    outcome = $"namespace {owned.Path} (pod {owned.Pod}): kept, process(es) {string.Join(", ", inside)} inside";
                }
                else
                {
                    ns.Dispose();
                    NetworkNamespace.Delete(owned.Path);
                    outcome = $"namespace {owned.Path} (pod {owned.Pod}): deleted";
                }
            }
            catch (Exception ex) when (ex is IOException or ErrnoException)
            {
                return $"namespace {owned.Path} (pod {owned.Pod}): not deleted: {ex.Message}";
            }
        }

        record.RemoveNamespace(owned.Path);
        return outcome;
    }
}
