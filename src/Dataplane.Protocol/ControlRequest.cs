namespace Dataplane.Protocol;

/// <summary>
/// One request on the control socket: a single line of JSON, answered by a single line of JSON
/// (<see cref="ControlResponse"/>). `dataplane ctl` is its client.
/// </summary>
public sealed record ControlRequest
{
    /// <summary>status | ports | stats | services | conntrack | flows | metrics | health | trace | capture | service-apply | service-delete | pod-add | pod-del | pod-check | pod-list | pod-show | pod-gc</summary>
    public required string Command { get; init; }

    /// <summary>conntrack: only flows with this address on either side (client, VIP or backend).</summary>
    public string? Ip { get; init; }

    /// <summary>conntrack: only flows with this port on either side.</summary>
    public int? Port { get; init; }

    /// <summary>conntrack: remove the matching flows instead of listing them.</summary>
    public bool Flush { get; init; }

    /// <summary>conntrack: most flows listed; trace and capture: packets.</summary>
    public int? Count { get; init; }

    /// <summary>
    /// conntrack and flows: list from this cursor on (the <c>next</c> of the previous page), so a large table is read
    /// in pages rather than copied whole.
    /// </summary>
    public int? After { get; init; }

    /// <summary>trace and capture: how long to wait at most.</summary>
    public double? Seconds { get; init; }

    /// <summary>capture: the port's name (a pod or "uplink").</summary>
    public string? PortName { get; init; }

    /// <summary>capture: every port, into one pcapng with an interface per port (instead of <see cref="PortName"/>).</summary>
    public bool All { get; init; }

    /// <summary>trace and capture: a pcap-filter expression (`tcp port 80 and host 10.244.1.12`); only matching frames.</summary>
    public string? Filter { get; init; }

    /// <summary>service-apply: YAML with a `services:` list (same schema as the node config).</summary>
    public string? Yaml { get; init; }

    /// <summary>service-delete and pod-show: the service's or pod's name.</summary>
    public string? Name { get; init; }

    /// <summary>flows: stream events (one response line each) until the client goes away, instead of listing flows.</summary>
    public bool Follow { get; init; }

    /// <summary>pod-add, pod-del, pod-check: the pod (pod-del and pod-check find it by container id and interface, or by name).</summary>
    public PodRequest? Pod { get; init; }

    /// <summary>pod-gc: the attachments the runtime still has; every other runtime-added pod is removed (CNI GC).</summary>
    public IReadOnlyList<PodAttachment>? Valid { get; init; }
}

public sealed record ControlResponse(bool Ok, string? Error, object? Result);
