using Dataplane.Conntrack;
using Dataplane.Model;
using Dataplane.Packets;
using Dataplane.Tables;

namespace Dataplane.Control;

/// <summary>
/// The one owner of the node's services: holds the desired set, diffs what a source hands it against that set, and
/// gives the <see cref="ServiceTable"/> only real changes (the table publishes each as a lock-free snapshot swap).
/// Flows DNATed to a backend a service no longer has are flushed from conntrack at once, TCP and UDP alike, so clients
/// re-balance instead of black-holing (the stale UDP conntrack bug); flows of backends that stay, terminating ones
/// included, are untouched.
/// <para>
/// Sources (the config file at start and on SIGHUP, <c>ctl service apply/delete</c>, replay, later the API server's
/// watch or an <c>--objects</c> file) translate their objects into <see cref="ServiceConfig"/> and call
/// <see cref="Replace"/> with everything they want, or <see cref="Apply"/>/<see cref="Remove"/> for one service, as
/// kpng hands its backend the expected node-local state. Services are compared as values, so an idle resync changes
/// nothing. Calls from any thread are serialized here (the table wants one writer).
/// </para>
/// </summary>
public sealed class ServiceController
{
    private readonly Lock _lock = new();
    private readonly ServiceTable _table;
    private readonly ConntrackTable _conntrack;

    // Desired services by key, in the order they were first applied (a replaced service keeps its place). Keyed, so
    // a sync of 10,000 services is not 10,000 scans.
    private readonly OrderedDictionary<string, ServiceConfig> _desired = new(StringComparer.Ordinal);

    private readonly AnnouncedAddresses _announced;

    /// <param name="announced">Where the services' external and load-balancer IPs are published for ARP/ND; none by default.</param>
    public ServiceController(ServiceTable table, ConntrackTable conntrack, AnnouncedAddresses? announced = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(conntrack);
        _table = table;
        _conntrack = conntrack;
        _announced = announced ?? new AnnouncedAddresses(enabled: false);
    }

    /// <summary>
    /// Raised after every call that changed the applied services, on the caller's thread and outside the lock, with
    /// the services now applied: what follows services beside the table (health-check node ports) syncs from it.
    /// </summary>
    public event Action<IReadOnlyList<ServiceConfig>>? Changed;

    /// <summary>How many services are applied (no copy, unlike <see cref="Services"/>).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _desired.Count;
            }
        }
    }

    /// <summary>The services applied, as their sources declared them (a copy).</summary>
    public IReadOnlyList<ServiceConfig> Services
    {
        get
        {
            lock (_lock)
            {
                return [.. _desired.Values];
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="desired"/> the whole set: services not in it are removed, new ones added, and those that
    /// differ from what is applied are rebuilt; equal ones are not touched. Removals go first, so a cluster IP may
    /// move from a removed service to a new one in one call. A service the table refuses keeps its previous state
    /// (or stays absent) and is listed in <see cref="ServiceSync.Failed"/>; the others are applied regardless.
    /// </summary>
    /// <param name="source">Who asked, for the summary (a config path, "ctl", "replay").</param>
    public ServiceSync Replace(IReadOnlyList<ServiceConfig> desired, string source)
    {
        ArgumentNullException.ThrowIfNull(desired);
        var sync = new ServiceSync(source);
        var removedBackends = new List<RemovedBackend>();
        lock (_lock)
        {
            var wanted = new HashSet<string>(StringComparer.Ordinal);
            foreach (ServiceConfig service in desired)
            {
                wanted.Add(service.Name);
            }

            foreach (ServiceConfig current in _desired.Values.ToArray())
            {
                if (!wanted.Contains(current.Name))
                {
                    ServiceUpdate update = RemoveLocked(current.Name);
                    sync.RemovedList.Add(update);
                    removedBackends.AddRange(update.RemovedBackends);
                }
            }

            foreach (ServiceConfig service in desired)
            {
                int index = _desired.IndexOf(service.Name);
                if (index >= 0 && _desired.GetAt(index).Value.Equals(service))
                {
                    sync.Unchanged++;
                    continue;
                }

                ServiceUpdate update = ApplyLocked(service, index);
                (update.Succeeded ? index < 0 ? sync.AddedList : sync.UpdatedList : sync.FailedList).Add(update);
                removedBackends.AddRange(update.RemovedBackends);
            }

            // One pass over conntrack for every backend that went away, whichever service it left.
            FlushRemovedBackends(removedBackends);
            _announced.Publish(_desired.Values);
        }

        if (sync.Changed)
        {
            Changed?.Invoke(Services);
        }

        return sync;
    }

    /// <summary>
    /// Adds or replaces one service. Unchanged (equal to the applied one): nothing is rebuilt and the update is empty.
    /// Refused: the service keeps its previous state and <see cref="ServiceUpdate.Errors"/> says why.
    /// </summary>
    public ServiceUpdate Apply(ServiceConfig service)
    {
        ArgumentNullException.ThrowIfNull(service);
        ServiceUpdate update;
        lock (_lock)
        {
            int index = _desired.IndexOf(service.Name);
            if (index >= 0 && _desired.GetAt(index).Value.Equals(service))
            {
                return new ServiceUpdate(service.Name);
            }

            update = ApplyLocked(service, index);
            FlushRemovedBackends(update.RemovedBackends);
            _announced.Publish(_desired.Values);
        }

        if (update.Succeeded)
        {
            Changed?.Invoke(Services);
        }

        return update;
    }

    /// <summary>Removes a service and flushes every flow it balanced; null when no service has that name.</summary>
    public ServiceUpdate? Remove(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ServiceUpdate update;
        lock (_lock)
        {
            if (!_desired.ContainsKey(name))
            {
                return null;
            }

            update = RemoveLocked(name);
            FlushRemovedBackends(update.RemovedBackends);
            _announced.Publish(_desired.Values);
        }

        Changed?.Invoke(Services);
        return update;
    }

    private ServiceUpdate ApplyLocked(ServiceConfig service, int index)
    {
        ServiceUpdate update = _table.Apply(service);
        if (update.Succeeded)
        {
            if (index >= 0)
            {
                _desired.SetAt(index, service);
            }
            else
            {
                _desired.Add(service.Name, service);
            }
        }

        return update;
    }

    private ServiceUpdate RemoveLocked(string name)
    {
        _desired.Remove(name);
        return _table.Remove(name);
    }


    /// <summary>One pass over conntrack for all removed backends (a service change may drop many).</summary>
    private void FlushRemovedBackends(IReadOnlyList<RemovedBackend> backends)
    {
        if (backends.Count == 0)
        {
            return;
        }

        var removed = new HashSet<(ulong VipHi, ulong VipLo, ushort Port, byte Protocol, ulong BackendHi, ulong BackendLo, ushort BackendPort)>();
        foreach (RemovedBackend backend in backends)
        {
            Ip6Address vip = backend.Frontend.Vip.Bits;
            removed.Add((vip.Hi, vip.Lo, backend.Frontend.Port, (byte)backend.Frontend.Protocol, backend.Ip.Bits.Hi, backend.Ip.Bits.Lo, backend.Port));
        }

        _conntrack.RemoveWhere(flow => (flow.Flags & FlowFlags.Service) != 0 && removed.Contains((
            flow.Original.DestinationHi, flow.Original.DestinationLo, flow.Original.DestinationPort, flow.Original.Protocol,
            flow.NatHi, flow.NatLo, flow.NatPort)));
    }
}
