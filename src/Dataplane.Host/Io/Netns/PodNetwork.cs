using System.Net;
using System.Runtime.ExceptionServices;
using Dataplane.Io.Netlink;
using Dataplane.Io.Tap;

namespace Dataplane.Io.Netns;

/// <summary>
/// One pod's network plumbing, made by <see cref="Create"/> and undone by <see cref="Dispose"/>: a TAP whose
/// fd the dataplane keeps, living in the pod's namespace as eth0 with the pod's MAC, MTU, addresses and
/// default routes. Dispose removes exactly what Create made: the TAP always, the namespace only if Create
/// created it (or <see cref="PodNetworkSpec.NamespaceOwned"/>) and no process is inside. A persistent TAP is left
/// in place by <see cref="Release"/>, for the next daemon to adopt.
/// </summary>
public sealed class PodNetwork : IDisposable
{
    private bool _disposed;

    private PodNetwork(PodNetworkSpec spec, NetworkNamespace ns, bool createdNamespace, TapDevice tap, int interfaceIndex, IPAddress? linkLocal, bool adopted)
    {
        Adopted = adopted;
        Spec = spec;
        Namespace = ns;
        CreatedNamespace = createdNamespace;
        Tap = tap;
        InterfaceIndex = interfaceIndex;
        LinkLocal = linkLocal;
    }

    public PodNetworkSpec Spec { get; }

    /// <summary>The pod's namespace (held open while this object lives).</summary>
    public NetworkNamespace Namespace { get; }

    /// <summary>True if <see cref="Create"/> created the namespace, so <see cref="Dispose"/> deletes it.</summary>
    public bool CreatedNamespace { get; }

    /// <summary>True if <see cref="Create"/> attached to the TAP an earlier daemon left (<see cref="PodNetworkSpec.Adopt"/>).</summary>
    public bool Adopted { get; }

    /// <summary>The TAP; read and write the pod's frames on <see cref="TapDevice.Fd"/>.</summary>
    public TapDevice Tap { get; }

    /// <summary>The interface's ifindex inside the pod namespace.</summary>
    public int InterfaceIndex { get; }

    /// <summary>
    /// The IPv6 link-local address the kernel gave the interface as it came up (null when IPv6 is off there). It is
    /// derived from the MAC by default, from a secret under <c>addr_gen_mode</c> stable_privacy or random, so it is
    /// read back rather than assumed: the source guard lets the pod send from it.
    /// </summary>
    public IPAddress? LinkLocal { get; }

    /// <summary>
    /// Builds the pod's network: open (or create) the namespace, create the TAP inside it under its final name
    /// (eth0), then from inside: MAC, MTU, lo up, eth0 up, IPv4 (and IPv6) address, default route(s). The fd
    /// works from any namespace; creating the device where it will live, rather than in the node's and moving it
    /// (as this did before), saves the move's unregister/register of the netdev: measured 15-31 ms of a pod's
    /// 23-38 ms attach here (perf/results/2026-11-29-2246-cni-latency.md). If any step fails,
    /// everything already done is undone before the exception propagates (no half-made TAP or namespace);
    /// the exception is the failing step's own (<see cref="ErrnoException"/>, <see cref="NetlinkException"/>),
    /// or an <see cref="AggregateException"/> if the undo failed too.
    /// </summary>
    public static PodNetwork Create(PodNetworkSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();

        NetworkNamespace? ns = null;
        bool createdNamespace = false;
        bool adopted = false;
        TapDevice? tap = null;
        try
        {
            (ns, createdNamespace) = OpenOrCreateNamespace(spec);
            createdNamespace |= spec.NamespaceOwned;
            // /dev/net/tun opened by a thread inside the namespace makes the device there (tun's socket takes the
            // opener's network namespace).
            // One visit (a thread of its own, about 1.7 ms) for both the TAP and the netlink socket that configures it.
            NetworkNamespace target = ns;
            RtNetlink? opened = null;
            tap = ns.Run(() =>
            {
                if (spec.Adopt && TryAttach(spec) is { } attached)
                {
                    adopted = true;
                    try
                    {
                        opened = RtNetlink.Open(target.Label);
                    }
                    catch
                    {
                        attached.Dispose();
                        throw;
                    }

                    return attached;
                }

                TapDevice created = TapDevice.Create(spec.InterfaceName, spec.Tap);
                try
                {
                    opened = RtNetlink.Open(target.Label);
                }
                catch
                {
                    created.Dispose();
                    throw;
                }

                return created;
            });
            int index;
            IPAddress? linkLocal;
            using (RtNetlink pod = opened!)
            {
                index = pod.GetLinkIndex(spec.InterfaceName);
                pod.SetLinkAddress(index, spec.Mac);
                pod.SetLinkMtu(index, spec.Mtu);
                pod.SetLinkUp(pod.GetLinkIndex("lo"));
                // Up before addresses and routes: a gateway route needs a running device to pass the kernel's
                // nexthop check.
                pod.SetLinkUp(index);
                // An adopted TAP keeps what it has (the pod's connections use it); only what is missing is added.
                List<(IPAddress Address, int PrefixLength)> present = adopted ? pod.GetAddresses(index) : [];
                if (!present.Contains((spec.IPv4, spec.IPv4PrefixLength)))
                {
                    pod.AddAddress(index, spec.IPv4, spec.IPv4PrefixLength);
                }

                if (spec.IPv6 is not null && !present.Contains((spec.IPv6, spec.IPv6PrefixLength)))
                {
                    // IFA_F_NODAD: skip Duplicate Address Detection for this address. Otherwise it stays
                    // "tentative" for about a second (one DupAddrDetectTransmits round), during which the
                    // kernel will not use it as a source and routes via it can fail, so the pod's first IPv6
                    // connections would break. The address is allocated by IPAM and unique on this TAP
                    // (the only other party is the dataplane), so DAD has nothing to detect.
                    pod.AddAddress(index, spec.IPv6, spec.IPv6PrefixLength, noDad: true);
                }

                AddRoute(pod, adopted, () => pod.AddDefaultRoute(spec.GatewayV4, index, onLink: !InPrefix(spec.GatewayV4, spec.IPv4, spec.IPv4PrefixLength)));
                if (spec.GatewayV6 is not null)
                {
                    bool onLink = !spec.GatewayV6.IsIPv6LinkLocal && !InPrefix(spec.GatewayV6, spec.IPv6!, spec.IPv6PrefixLength);
                    AddRoute(pod, adopted, () => pod.AddDefaultRoute(spec.GatewayV6, index, onLink));
                }

                foreach ((IPAddress destination, int prefixLength, IPAddress? gateway) in spec.Routes)
                {
                    AddRoute(pod, adopted, () => pod.AddRoute(destination, prefixLength, gateway, index, onLink: gateway is not null));
                }

                linkLocal = pod.GetAddresses(index).Select(static a => a.Address).FirstOrDefault(static a => a.IsIPv6LinkLocal);
            }

            return new PodNetwork(spec, ns, createdNamespace, tap, index, linkLocal, adopted);
        }
        catch (Exception failure)
        {
            // An adopted TAP is the pod's: a failed adoption lets it go as it was, never removes it.
            List<Exception> undoFailures = adopted ? Release(tap, ns) : Undo(tap, ns, createdNamespace);
            if (undoFailures.Count == 0)
            {
                ExceptionDispatchInfo.Throw(failure);
            }

            throw new AggregateException(
                $"setting up pod network ({spec.InterfaceName} in namespace '{spec.Namespace}') failed, and undoing it failed too",
                [failure, .. undoFailures]);
        }
    }

    /// <summary>
    /// Removes the TAP from the pod namespace (persistent or not), then deletes the namespace if it is ours
    /// (<see cref="CreatedNamespace"/>) and no process is inside. Every step is attempted; if any failed, an
    /// <see cref="AggregateException"/> reports them afterwards.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        List<Exception> failures = Undo(Tap, Namespace, CreatedNamespace);
        if (failures.Count > 0)
        {
            throw new AggregateException($"tearing down pod network (namespace '{Namespace.Label}') failed", failures);
        }
    }

    /// <summary>
    /// Lets go of the TAP and the namespace without removing either (the daemon stops and a restart will adopt them):
    /// a persistent TAP stays the pod's eth0 with its addresses and routes, queueing nothing while no one reads it.
    /// </summary>
    public void Release()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        List<Exception> failures = Release(Tap, Namespace);
        if (failures.Count > 0)
        {
            throw new AggregateException($"releasing pod network (namespace '{Namespace.Label}') failed", failures);
        }
    }

    /// <summary>
    /// What is wrong with the pod's interface now (CNI CHECK): gone, renamed, down, another MAC or MTU, an address
    /// missing. Empty when it is as <see cref="Create"/> left it.
    /// </summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        using RtNetlink pod = Namespace.OpenNetlink();
        if (pod.TryGetLink(InterfaceIndex) is not { } link || link.Name != Spec.InterfaceName)
        {
            problems.Add($"no interface {Spec.InterfaceName} (index {InterfaceIndex}) in namespace {Namespace.Label}");
            return problems;
        }

        if (!link.IsUp)
        {
            problems.Add($"{link.Name} is down");
        }

        if (link.Address is { } mac && !mac.Equals(Spec.Mac))
        {
            problems.Add($"{link.Name} has MAC {mac}, not {Spec.Mac}");
        }

        if (link.Mtu != Spec.Mtu)
        {
            problems.Add($"{link.Name} has MTU {link.Mtu}, not {Spec.Mtu}");
        }

        List<(IPAddress Address, int PrefixLength)> addresses = pod.GetAddresses(InterfaceIndex);
        foreach ((IPAddress? expected, int length) in new[] { (Spec.IPv4, Spec.IPv4PrefixLength), (Spec.IPv6, Spec.IPv6PrefixLength) })
        {
            if (expected is not null && !addresses.Contains((expected, length)))
            {
                problems.Add($"{link.Name} lacks {expected}/{length}");
            }
        }

        return problems;
    }

    public override string ToString() =>
        $"pod network {Spec.InterfaceName} (TAP {Tap.Name}, {Tap.Fd}) in namespace '{Namespace.Label}'{(CreatedNamespace ? " (created)" : "")}";

    private static (NetworkNamespace Namespace, bool Created) OpenOrCreateNamespace(PodNetworkSpec spec)
    {
        string path = NetworkNamespace.PathOf(spec.Namespace);
        string? name = Path.GetDirectoryName(path) == NetworkNamespace.RunDirectory ? Path.GetFileName(path) : null;
        if (!spec.CreateNamespaceIfAbsent || name is null || File.Exists(path))
        {
            return (NetworkNamespace.Open(path), false);
        }

        try
        {
            return (NetworkNamespace.Create(name), true);
        }
        catch (ErrnoException e) when (e.Errno == Errno.EEXIST)
        {
            return (NetworkNamespace.Open(path), false); // someone else created it meanwhile: not ours
        }
    }

    /// <summary>The TAP this spec names, when an earlier daemon left it in the calling thread's namespace; null when it is gone.</summary>
    private static TapDevice? TryAttach(PodNetworkSpec spec)
    {
        using RtNetlink netlink = RtNetlink.Open();
        if (netlink.TryGetLink(spec.InterfaceName) is not { Kind: "tun" })
        {
            return null;
        }

        return TapDevice.Attach(spec.InterfaceName, spec.Tap);
    }

    /// <summary>Adds a route; on an adopted TAP one that is there already (EEXIST) is fine.</summary>
    private static void AddRoute(RtNetlink pod, bool adopted, Action add)
    {
        try
        {
            add();
        }
        catch (NetlinkException e) when (adopted && e.Errno == Errno.EEXIST)
        {
        }
    }

    private static List<Exception> Release(TapDevice? tap, NetworkNamespace? ns)
    {
        var failures = new List<Exception>();
        try
        {
            tap?.Dispose();
        }
        catch (Exception e)
        {
            failures.Add(e);
        }

        ns?.Dispose();
        return failures;
    }

    private static List<Exception> Undo(TapDevice? tap, NetworkNamespace? ns, bool createdNamespace)
    {
        var failures = new List<Exception>();
        try
        {
            tap?.Remove();
        }
        catch (Exception e)
        {
            failures.Add(e);
        }

        if (ns is not null)
        {
            if (createdNamespace && ns.ProcessesInside().Count == 0)
            {
                try
                {
                    NetworkNamespace.Delete(ns.Path);
                }
                catch (Exception e)
                {
                    failures.Add(e);
                }
            }

            ns.Dispose();
        }

        return failures;
    }

    private static bool InPrefix(IPAddress candidate, IPAddress network, int prefixLength)
    {
        if (candidate.AddressFamily != network.AddressFamily)
        {
            return false;
        }

        Span<byte> a = stackalloc byte[16];
        Span<byte> b = stackalloc byte[16];
        candidate.TryWriteBytes(a, out int length);
        network.TryWriteBytes(b, out _);
        int full = prefixLength / 8;
        if (!a.Slice(0, full).SequenceEqual(b.Slice(0, full)))
        {
            return false;
        }

        int rest = prefixLength % 8;
        if (rest == 0 || full >= length)
        {
            return true;
        }

        byte mask = (byte)(0xFF << (8 - rest));
        return (a[full] & mask) == (b[full] & mask);
    }
}
