using System.Runtime.InteropServices;

namespace Dataplane.Pipeline;

/// <summary>
/// Per-packet metadata that travels with a frame through the stages (VPP's vlib_buffer_t): where the frame
/// sits in its buffer, where it came from and goes to, and the offsets earlier stages parsed so later ones
/// do not parse again. 32 bytes (one byte spare), two per cache line.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct PacketMeta
{
    /// <summary>Frame start within the packet's buffer slot (headroom lets a stage prepend headers).</summary>
    public int Offset;

    public int Length;

    /// <summary>Receive time on the pipeline clock (ns). Replay: the pcap timestamp. Daemon: the batch's read time.</summary>
    public long Timestamp;

    public ushort RxPort;

    /// <summary>Set by the stage that decides the output; <see cref="PortIds.Flood"/> for all pod ports but <see cref="RxPort"/>.</summary>
    public ushort TxPort;

    /// <summary>Offset of the L3 header from the frame start.</summary>
    public ushort L3Offset;

    /// <summary>Offset of the L4 header from the frame start; 0 when there is none (ARP, later fragments).</summary>
    public ushort L4Offset;

    public PacketFlags Flags;

    public byte L4Protocol;

    /// <summary>ICMP error to send for this packet (set by a stage that hands it to icmp-error), else 0.</summary>
    public byte IcmpType;

    public byte IcmpCode;

    /// <summary>Next-hop MTU for "fragmentation needed" / "packet too big".</summary>
    public ushort IcmpMtu;
}
