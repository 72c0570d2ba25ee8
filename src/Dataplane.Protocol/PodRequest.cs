namespace Dataplane.Protocol;

/// <summary>
/// A pod to attach (pod-add) or find (pod-del, pod-check), as the CNI plugin or `ctl pod add` sends it. The addresses
/// come from IPAM (the plugin delegates to host-local); the daemon creates the TAP, moves it into
/// <see cref="Netns"/> as <see cref="IfName"/>, and programs the port.
/// </summary>
public sealed record PodRequest
{
    /// <summary>CNI_CONTAINERID; with <see cref="IfName"/> the key of a CNI attachment. Null for `ctl pod add`.</summary>
    public string? ContainerId { get; init; }

    /// <summary>The interface name inside the pod (CNI_IFNAME).</summary>
    public string IfName { get; init; } = "eth0";

    /// <summary>The pod's network namespace: a path (/var/run/netns/cni-…, /proc/PID/ns/net) or a name under /var/run/netns.</summary>
    public string? Netns { get; init; }

    /// <summary>The port's name (a DNS label, or namespace/name from K8S_POD_NAMESPACE and K8S_POD_NAME); the daemon picks one when null.</summary>
    public string? Name { get; init; }

    /// <summary>The pod's addresses in CIDR form (10.244.1.5/24, fd00:10:244:1::5/64) with their gateways; one IPv4 at most, one IPv6 at most.</summary>
    public IReadOnlyList<PodAddress>? Ips { get; init; }

    /// <summary>Routes inside the pod besides the default routes via the gateways.</summary>
    public IReadOnlyList<PodRoute>? Routes { get; init; }

    /// <summary>The interface MTU; the node's MTU when null.</summary>
    public int? Mtu { get; init; }

    /// <summary>The pod's MAC; derived from its IPv4 (0a:58:a.b.c.d, as OVN-Kubernetes does) when null.</summary>
    public string? Mac { get; init; }
}

/// <summary>One address of a pod: <c>10.244.1.5/24</c> and its gateway (the node's gateway IP).</summary>
public sealed record PodAddress(string Address, string? Gateway);

/// <summary>A route inside the pod: destination CIDR and optional gateway (CNI's route shape).</summary>
public sealed record PodRoute(string Dst, string? Gw);

/// <summary>A CNI attachment: container id and interface name.</summary>
public sealed record PodAttachment(string ContainerId, string IfName);

/// <summary>A pod as the daemon holds it (pod-add's result, pod-list and pod-show).</summary>
public sealed record PodInfo(
    string Name,
    int Port,
    string Source,
    string? ContainerId,
    string IfName,
    string Netns,
    string Mac,
    int Mtu,
    IReadOnlyList<PodAddress> Ips,
    int Worker,
    IReadOnlyList<string>? LinkLocal = null);

/// <summary>pod-check's result: what is wrong with the pod's interface inside its namespace (empty when nothing).</summary>
public sealed record PodCheckResult(string Name, IReadOnlyList<string> Problems);

/// <summary>pod-del's result: whether a pod was found and removed (false is still success: DEL is idempotent).</summary>
public sealed record PodDeleteResult(string? Name, bool Removed, int FlowsFlushed);

/// <summary>pod-gc's result: the runtime pods removed because the runtime no longer has them.</summary>
public sealed record PodGcResult(IReadOnlyList<string> Removed);
