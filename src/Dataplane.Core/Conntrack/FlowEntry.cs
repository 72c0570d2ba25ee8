using System.Runtime.InteropServices;

namespace Dataplane.Conntrack;

[Flags]
public enum FlowFlags : byte
{
    None = 0,

    /// <summary>Original-direction packets get their destination rewritten to <see cref="FlowEntry.NatHi"/>:<see cref="FlowEntry.NatPort"/> (service DNAT).</summary>
    Dnat = 1 << 0,

    /// <summary>Original-direction packets get their source rewritten to the gateway (hairpin: the client is its own backend).</summary>
    SnatAddress = 1 << 1,

    /// <summary>Original-direction packets get their source port rewritten to <see cref="FlowEntry.SnatPort"/> (the reply tuple clashed).</summary>
    SnatPort = 1 << 2,

    /// <summary>A packet has been seen in the reply direction (UDP then moves to the stream timeout).</summary>
    SeenReply = 1 << 3,

    /// <summary>The flow was balanced to a service backend (<see cref="FlowEntry.BackendId"/> is set).</summary>
    Service = 1 << 4,

    /// <summary>The backend's open-connection count was already released (the TCP connection closed before the entry expired).</summary>
    Released = 1 << 5,

    /// <summary>
    /// Original-direction packets get their source rewritten to the node's address and their source port to
    /// <see cref="FlowEntry.SnatPort"/> (masquerade, and external traffic under the Cluster policy). Always with
    /// <see cref="SnatPort"/>: the port comes from the node's SNAT range, never the client's own.
    /// </summary>
    SnatNode = 1 << 6,
}

/// <summary>
/// One tracked flow: its original tuple, the translation, the state, its deadline and the pod it is charged to. 80 bytes; with its two
/// 8-byte index slots at the table's load, about 112 bytes per flow (measured in ConntrackTableTests).
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
public struct FlowEntry
{
    public FlowKey Original;

    /// <summary>Where the original destination is translated to (the backend); equals the original destination when not DNATed.</summary>
    public ulong NatHi;

    public ulong NatLo;

    /// <summary>Pipeline-clock deadline (ns) after which the entry is dead.</summary>
    public long Expires;

    /// <summary>Seqlock: odd while the table rewrites the entry; readers compare it before and after reading.</summary>
    public uint Version;

    /// <summary>Stable id of the chosen backend within its service (the service is the original destination), for leastconn release.</summary>
    public int BackendId;

    public ushort NatPort;

    public ushort SnatPort;

    public TcpState TcpState;

    public FlowFlags Flags;

    /// <summary>
    /// The pod whose packet opened the flow (<see cref="PodFlowLimits.OwnerOf"/>: its port id plus one), so its
    /// entry count drops when the flow ends; 0 for flows charged to no pod (the uplink, the node's kernel). Sits in
    /// what was padding: the entry stays 80 bytes.
    /// </summary>
    public ushort Owner;
}
